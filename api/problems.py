"""RFC 9457 problem details: the API's one error type, its handlers and its OpenAPI shape.

Every error leaves as application/problem+json; a 503 carries Retry-After (the
setting, unless the problem names its own, as an open circuit does); a 500
says nothing about its cause (the server logs the traceback).
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger(__name__)


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457); extensions such as `errors` may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class Problem(Exception):
    """Raise to answer with a problem; keyword arguments become extension members.

    By default the status code carries the meaning (type about:blank, its phrase as
    title); a problem more specific than its status names its own `type` and `title`.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        headers: Mapping[str, str] | None = None,
        *,
        type: str = "about:blank",
        title: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.type = type
        self.title = title or HTTPStatus(status).phrase
        self.extensions = extensions


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem answers."""
    return {status: {"model": ProblemDetails} for status in statuses}


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error as a problem, and document them so in the OpenAPI schema."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(RedisConnectionError, _on_redis_down)
    app.add_exception_handler(RedisTimeoutError, _on_redis_down)
    app.add_exception_handler(Exception, _on_unexpected)
    app.openapi = _with_problem_media_type(app.openapi)  # type: ignore[method-assign]


async def handled(request: Request, error: Exception) -> Response:
    """The answer the app's exception handlers give `error`, for code that runs before
    FastAPI's own exception handling (api.fast_reads)."""
    handlers = request.app.exception_handlers
    for kind in type(error).__mro__:
        if kind in handlers:
            response: Response = await handlers[kind](request, error)
            return response
    raise error


def _render(request: Request, problem: Problem) -> Response:
    body = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extensions,
    }
    headers = dict(problem.headers)
    if problem.status == 503:  # an open circuit knows better when to come back
        headers.setdefault("Retry-After", str(request.app.state.settings.api_retry_after_s))
    correlation_id = getattr(request.state, "correlation_id", None)
    if correlation_id is not None:
        headers["X-Correlation-ID"] = correlation_id
    return Response(orjson.dumps(body), problem.status, headers, media_type=PROBLEM_MEDIA_TYPE)


async def _on_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, Problem)
    return _render(request, error)


async def _on_http_error(request: Request, error: Exception) -> Response:
    # Routing errors (unknown path, wrong method) keep their headers, e.g. Allow.
    assert isinstance(error, HTTPException)
    return _render(request, Problem(error.status_code, str(error.detail), error.headers))


async def _on_invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [_error_member(item) for item in error.errors()]
    return _render(request, Problem(422, "The request is invalid; see errors.", errors=errors))


async def _on_redis_down(request: Request, error: Exception) -> Response:
    # Its message names hosts and ports: that goes to the log, not to the client.
    _log.warning("Redis unavailable: %s", error)
    return _render(request, Problem(503, "Redis is unavailable."))


async def _on_unexpected(request: Request, error: Exception) -> Response:
    # Starlette re-raises after answering, so the server logs the traceback once.
    return _render(request, Problem(500, "An unexpected error occurred."))


def _error_member(error: Mapping[str, Any]) -> dict[str, str]:
    """One validation error: a JSON pointer into the body, or the parameter or header name."""
    source, *path = error["loc"]
    member = {"detail": error["msg"], "code": error["type"]}
    if source == "body":
        member["pointer"] = "#" + "".join("/" + _escape(part) for part in path)
    elif source == "header":
        member["header"] = str(path[0])
    else:
        member["parameter"] = str(path[0]) if path else str(source)
    return member


def _escape(part: object) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")  # RFC 6901


def _with_problem_media_type(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """FastAPI files error models under application/json; they are problem+json here."""

    def openapi() -> dict[str, Any]:
        schema = build()  # cached by FastAPI after the first call
        for operation in _operations(schema):
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        return schema

    return openapi


def _operations(schema: Mapping[str, Any]) -> Sequence[dict[str, Any]]:
    return [op for path in schema.get("paths", {}).values() for op in path.values()]
