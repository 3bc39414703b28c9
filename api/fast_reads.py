"""The plain view reads, served before FastAPI: GET an organization or a license as stored.

FastAPI's work per request (dependency solving, parameter validation, its request and
response objects, its middleware) costs several times the Redis read itself: a read
through it reached 0.23x the rate of a bare ASGI endpoint doing the same HGET
(docs/benchmarks.md). Most reads are plain, so this middleware serves those itself,
with the same ViewReader, the same verified-token cache and the same 404 rules
(api.reads): ids in canonical form, no query string, a bearer token verified before and
allowed to read; it runs before FastAPI's own middleware too (api.main). Every other
request (a token not seen yet or refused, ?min_version, ?snapshot, an id spelled
otherwise, a path of its own) goes on to the FastAPI routes, which stay the API's
contract and its documentation. A missing view, an unreachable Redis and a bug are
answered by the app's own problem handlers.
"""

import re
from dataclasses import dataclass

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import Views
from api.problems import Problem, handled
from api.reads import license_view, organization_view
from ostock.auth.tokens import TokenVerifier

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PATH = re.compile(rf"/v1/organizations/({_UUID})(?:/licenses/({_UUID}))?")
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class RouteTemplate:
    """The route a fast read stands for: api.metrics labels requests by `path`."""

    path: str


ORGANIZATION = RouteTemplate("/v1/organizations/{organization_id}")
LICENSE = RouteTemplate("/v1/organizations/{organization_id}/licenses/{license_id}")


class FastReads:
    """Pure ASGI middleware: a plain read is answered here, anything else passes on.

    `state` is the app's: the views appear there when the lifespan has built them
    (until then, and in tests that replace them by dependency overrides, every read
    passes on).
    """

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ids = self._plain_read(scope)
        if ids is None:
            await self.app(scope, receive, send)
            return
        views: Views = self.state.views
        organization_id, license_id = ids
        scope["route"] = ORGANIZATION if license_id is None else LICENSE
        try:
            if license_id is None:
                body = await organization_view(views, organization_id)
            else:
                body = await license_view(views, organization_id, license_id)
        except Exception as error:
            # Answered by the app's own handlers, a bug as a 500 problem; the bug is then
            # raised again for the server to log, as FastAPI's error middleware does.
            response = await handled(Request(scope, receive, send), error)
            await response(scope, receive, send)
            if not isinstance(error, (Problem, RedisConnectionError, RedisTimeoutError)):
                raise
            return
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _plain_read(self, scope: Scope) -> tuple[str, str | None] | None:
        """The ids of a read this middleware answers; None for any other request."""
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["query_string"]
            or scope.get("root_path")
        ):
            return None
        match = _PATH.fullmatch(scope["path"])
        if match is None or not hasattr(self.state, "views"):
            return None
        if not self._may_read(scope):
            return None
        return match[1], match[2]

    def _may_read(self, scope: Scope) -> bool:
        """Whether the request bears a token verified before that allows reading."""
        verifier: TokenVerifier = self.state.verifier
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return False
                caller = verifier.remembered(token)
                return caller is not None and caller.may("read")
        return False
