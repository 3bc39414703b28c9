"""Serving views: as stored, and, when the client asks, no older than a version.

Read-your-writes: a client told "accepted, version N" reads with ?min_version=N and
the read waits, bounded, until the view holds N (ViewReader.wait_for_version is
notified by the projectors, the API polls nothing). When the bound passes first the
answer is 409 with where the view stands, never a stale body.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

import orjson
from fastapi import Depends, Query, Response

from api.deps import SettingsDep, Views
from api.problems import Problem, problem_responses
from ostock.views.reader import ViewName

# A view behind its write usually catches up within milliseconds: a second is plenty.
BEHIND_RETRY_AFTER_S = 1
# Its own problem type: nothing serves a page for it, so a tag URI (RFC 4151).
VIEW_BEHIND = "tag:ostock,2026:problems/view-behind"

# The problems of every view read, the 409 of ?min_version explained.
READ_PROBLEMS = problem_responses(404, 409, 422, 503)
READ_PROBLEMS[409] |= {
    "description": "The view did not reach min_version in time: `view_version` says where "
    "it stands, `min_version` what was asked; retry after Retry-After seconds.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
}


@dataclass(frozen=True)
class MinVersion:
    """What a read asked to see: its view at `version` or newer, waiting at most `wait_s`."""

    version: int | None
    wait_s: float

    async def wait(
        self, views: Views, view: ViewName, organization_id: str, aggregate_id: str
    ) -> None:
        """Return once the view holds the version asked for (at once if none was asked),
        or answer 409 when the wait runs out first."""
        if self.version is None:
            return
        reached = await views.wait_for_version(
            view, organization_id, aggregate_id, self.version, self.wait_s
        )
        if reached < self.version:
            raise Problem(
                409,
                f"The {view.replace('_', ' ')} view of {aggregate_id} is at version {reached}, "
                f"not yet {self.version}; retry shortly.",
                {"Retry-After": str(BEHIND_RETRY_AFTER_S)},
                type=VIEW_BEHIND,
                title="The view is behind the version asked for",
                view_version=reached,
                min_version=self.version,
            )


async def get_min_version(
    settings: SettingsDep,
    min_version: Annotated[
        int | None,
        Query(ge=1, description="Wait until the view holds this version (read-your-writes)."),
    ] = None,
    wait_s: Annotated[
        float | None,
        Query(
            ge=0,
            allow_inf_nan=False,
            description="Longest wait for min_version, in seconds; capped by the server.",
        ),
    ] = None,
) -> MinVersion:
    """The read's ?min_version, and how long it may wait: never beyond `read_wait_s`."""
    bound = settings.read_wait_s if wait_s is None else min(wait_s, settings.read_wait_s)
    return MinVersion(min_version, bound)


MinVersionDep = Annotated[MinVersion, Depends(get_min_version)]


async def organization_view(views: Views, organization_id: str) -> bytes:
    """The organization view exactly as stored; 404 if absent or deleted."""
    body = await views.organization(organization_id)
    return _present(body, f"Organization {organization_id} does not exist.")


async def license_view(views: Views, organization_id: str, license_id: str) -> bytes:
    """The enriched license view exactly as stored; 404 if absent or deleted."""
    body = await views.license(organization_id, license_id)
    missing = f"License {license_id} of organization {organization_id} does not exist."
    return _present(body, missing)


@dataclass(frozen=True)
class ViewRoute:
    """A GET of one stored view, declared once: its FastAPI route (the OpenAPI contract,
    api.routes) and the fast path (api.fast_reads) are both built from it, and api.metrics
    labels its requests by `path`."""

    path: str
    view: ViewName
    read: Callable[..., Awaitable[bytes]]
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Each {parameter} matches an id in canonical form only: any other spelling is
        # left to the FastAPI route, which validates and normalizes it.
        parts = [
            _UUID if part.startswith("{") else re.escape(part) for part in self.path.split("/")
        ]
        object.__setattr__(self, "pattern", re.compile("/".join(parts)))

    def under(self, prefix: str) -> str:
        """The route's path inside a router mounted at `prefix`."""
        if not self.path.startswith(prefix):
            raise ValueError(f"{self.path} is not under {prefix}")
        return self.path.removeprefix(prefix)


_UUID = "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"

ORGANIZATION = ViewRoute("/v1/organizations/{organization_id}", "organization", organization_view)
LICENSE = ViewRoute(
    "/v1/organizations/{organization_id}/licenses/{license_id}", "license", license_view
)
VIEW_ROUTES = (ORGANIZATION, LICENSE)


def served(body: bytes) -> Response:
    """A view as stored: no re-serialization on the hot path."""
    return Response(body, media_type="application/json")


def _present(body: bytes | None, missing: str) -> bytes:
    if body is None or orjson.loads(body).get("status") == "deleted":
        raise Problem(404, missing)
    return body
