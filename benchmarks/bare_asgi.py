"""The API baseline: a raw ASGI callable answering every GET with one Redis HGET of the view.

Served by the same uvicorn (uvloop, httptools) as the API; the key to read comes from
OSTOCK_BENCH_KEY and Redis from OSTOCK_REDIS_URL.
"""

import os
from typing import Any

from redis.asyncio import Redis

REDIS = Redis.from_url(os.environ.get("OSTOCK_REDIS_URL", "redis://127.0.0.1:6379/0"))
KEY = os.environ.get("OSTOCK_BENCH_KEY", "")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """HGET the view's body and answer it as JSON (404 when it is missing)."""
    if scope["type"] != "http":
        return
    body = await REDIS.hget(KEY, "body")
    status = 200 if body is not None else 404
    payload = body if body is not None else b"{}"
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
