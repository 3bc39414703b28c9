"""The plain view reads, served before FastAPI: GET an organization or a license as stored.

Each is one api.reads.ViewRoute, from which its FastAPI route is built too.

FastAPI's work per request (dependency solving, parameter validation, its request and
response objects, its middleware) costs several times the Redis read itself
(docs/performance.md has the figures, with and without this path). Most reads are
plain, so this middleware serves those itself, with the same reader, the same
verified-token cache, the same role rule (api.auth.access_for) and the same 404 rules:
ids in canonical form, no query string, a bearer token verified before and allowed to
read; it runs before FastAPI's own middleware too (api.main). Every other request (a
token not seen yet or refused, ?min_version, ?snapshot, an id spelled otherwise, a path
of its own) goes on to the FastAPI routes, which stay the API's contract and its
documentation. A missing view, an unreachable Redis and a bug are answered by the app's
own problem handlers.
"""

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import access_for
from api.deps import Views
from api.problems import Problem, handled
from api.reads import VIEW_ROUTES, ViewRoute
from ostock.auth.tokens import TokenVerifier

_JSON = (b"content-type", b"application/json")


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
        read = self._plain_read(scope)
        if read is None:
            await self.app(scope, receive, send)
            return
        route, ids = read
        views: Views = self.state.views
        scope["route"] = route
        try:
            body = await route.read(views, *ids)
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

    def _plain_read(self, scope: Scope) -> tuple[ViewRoute, tuple[str, ...]] | None:
        """The route and ids of a read this middleware answers; None for any other request."""
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["query_string"]
            or scope.get("root_path")
        ):
            return None
        for route in VIEW_ROUTES:
            match = route.pattern.fullmatch(scope["path"])
            if match is not None:
                break
        else:
            return None
        if not hasattr(self.state, "views") or not self._may(scope):
            return None
        return route, match.groups()

    def _may(self, scope: Scope) -> bool:
        """Whether the request bears a token verified before that allows its access."""
        verifier: TokenVerifier = self.state.verifier
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return False
                caller = verifier.remembered(token)
                return caller is not None and caller.may(access_for(scope["method"]))
        return False
