"""Histories: every event of an organization or a license, oldest first, as stored."""

from uuid import UUID

from fastapi import APIRouter, Response

from api.deps import ViewsDep
from api.problems import Problem
from api.reads import READ_PROBLEMS, MinVersionDep
from api.schemas.history import History

router = APIRouter(prefix="/v1/organizations/{organization_id}", tags=["history"])


@router.get(
    "/events",
    summary="Read an organization's history",
    response_model=History,
    responses=READ_PROBLEMS,
)
async def organization_history(
    organization_id: UUID, views: ViewsDep, min_version: MinVersionDep
) -> Response:
    """The organization's events, deletion included."""
    organization = str(organization_id)
    await min_version.wait(views, "organization_history", organization, organization)
    entries = await views.history(organization, organization)
    return _history(entries, f"Organization {organization_id} has no history.")


@router.get(
    "/licenses/{license_id}/events",
    summary="Read a license's history",
    response_model=History,
    responses=READ_PROBLEMS,
)
async def license_history(
    organization_id: UUID, license_id: UUID, views: ViewsDep, min_version: MinVersionDep
) -> Response:
    """The license's events, revocation included."""
    organization, aggregate = str(organization_id), str(license_id)
    await min_version.wait(views, "license_history", organization, aggregate)
    entries = await views.history(organization, aggregate)
    missing = f"License {license_id} of organization {organization_id} has no history."
    return _history(entries, missing)


def _history(entries: list[bytes], missing: str) -> Response:
    """The entries as stored, joined into one body: never parsed and dumped again."""
    if not entries:
        raise Problem(404, missing)
    return Response(b'{"events":[' + b",".join(entries) + b"]}", media_type="application/json")
