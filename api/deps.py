"""Dependencies, as Annotated aliases. All async or plain app.state reads: a sync
dependency would run in the thread pool on every request."""

import re
import secrets
from typing import Annotated, Protocol
from uuid import UUID, uuid4

from fastapi import Depends, Header, Query, Request

from api.auth import CallerDep
from api.commands import CommandSender
from api.problems import Problem
from api.publisher import Publisher
from ostock.commands import Issuer
from ostock.settings import Settings
from ostock.views.client import RedisClient
from ostock.views.keys import SNAPSHOT_NAME
from ostock.views.reader import Page, ViewName

# W3C trace-context version 00; all-zero trace or parent ids are invalid.
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


class Views(Protocol):
    """The read models the API serves (ostock.views.reader.ViewReader)."""

    async def organization(self, organization_id: str) -> bytes | None: ...

    async def license(self, organization_id: str, license_id: str) -> bytes | None: ...

    async def licenses(self, organization_id: str, cursor: str | None, limit: int) -> Page: ...

    async def history(self, organization_id: str, aggregate_id: str) -> list[bytes]: ...

    async def wait_for_version(
        self,
        view: ViewName,
        organization_id: str,
        aggregate_id: str,
        min_version: int,
        timeout_s: float,
    ) -> int: ...

    async def command(self, command_id: str) -> bytes | None: ...

    async def snapshot(self, name: str) -> "Views | None": ...


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_publisher(request: Request) -> Publisher:
    return request.app.state.publisher  # type: ignore[no-any-return]


async def get_views(
    request: Request,
    snapshot: Annotated[
        str | None,
        Query(
            pattern=SNAPSHOT_NAME,
            description="Read the views as this snapshot holds them (`ostock replay --until`).",
        ),
    ] = None,
) -> Views:
    """The live views, or a snapshot's when the read names one (404 if there is none)."""
    views: Views = request.app.state.views
    if snapshot is None:
        return views
    at = await views.snapshot(snapshot)
    if at is None:
        raise Problem(404, f"There is no snapshot {snapshot!r}.")
    return at


async def get_redis(request: Request) -> RedisClient:
    return request.app.state.redis  # type: ignore[no-any-return]


async def get_correlation_id(
    request: Request,
    x_correlation_id: Annotated[
        str | None, Header(max_length=128, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> str:
    """The caller's correlation id or a new one; kept on the request so errors echo it too."""
    correlation_id = x_correlation_id or str(uuid4())
    request.state.correlation_id = correlation_id
    return correlation_id


async def get_traceparent(traceparent: Annotated[str | None, Header()] = None) -> str:
    """The caller's W3C traceparent, or the root of a new trace.

    Passed on unchanged when the API records no spans (api.tracing), so the consumers'
    spans become children of the caller's.
    """
    if traceparent is not None and _TRACEPARENT.fullmatch(traceparent):
        return traceparent
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


SettingsDep = Annotated[Settings, Depends(get_settings)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
ViewsDep = Annotated[Views, Depends(get_views)]
RedisDep = Annotated[RedisClient, Depends(get_redis)]
CorrelationDep = Annotated[str, Depends(get_correlation_id)]


async def get_command_sender(
    request: Request,
    settings: SettingsDep,
    publisher: PublisherDep,
    caller: CallerDep,
    correlation_id: CorrelationDep,
    traceparent: Annotated[str, Depends(get_traceparent)],
    idempotency_key: Annotated[
        UUID | None, Header(description="Reuse to retry a command safely: it becomes its id.")
    ] = None,
) -> CommandSender:
    """Everything a command of this request carries: id, caller, correlation, trace."""
    command_id = str(idempotency_key or uuid4())
    issuer = Issuer(caller.issued_by, correlation_id=correlation_id, command_id=command_id)
    state = request.app.state
    return CommandSender(publisher, state.codec, settings.topics, issuer, traceparent, state.tracer)


CommandsDep = Annotated[CommandSender, Depends(get_command_sender)]
