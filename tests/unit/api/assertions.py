"""Checks every test of the API makes of a problem answer."""

from typing import Any

import httpx


def problem(response: httpx.Response, status: int, type: str = "about:blank") -> dict[str, Any]:
    """The problem body of `response`, after checking its status, media type and members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"] == type
    return body
