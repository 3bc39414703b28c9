# One immutable image for every O-stock deployable; the command picks the process:
#   ostock worker handler organization | ostock worker projector NAME | ostock api
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY ostock ostock
COPY api api
COPY streams streams
COPY schemas schemas
COPY read-models read-models
RUN pip install --no-cache-dir --no-deps -e .
ENV OSTOCK_API_HOST=0.0.0.0 \
    OSTOCK_DATA_DIR=/tmp/ostock
USER nobody
ENTRYPOINT ["ostock"]
