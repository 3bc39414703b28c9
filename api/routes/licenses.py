"""Licenses of an organization: reads serve the enriched Redis views as stored, writes
publish license commands (202) to the licensing service."""

from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Response

from api.commands import aggregate_id_for
from api.deps import CommandsDep, ViewsDep
from api.problems import Problem, problem_responses
from api.reads import LICENSE, READ_PROBLEMS, MinVersionDep, served
from api.schemas.commands import LicenseCommandAccepted
from api.schemas.licenses import LicenseCreate, LicensePage, LicensePublic, LicenseUpdate
from ostock.commands import license_command

router = APIRouter(prefix="/v1/organizations/{organization_id}/licenses", tags=["licenses"])

ExpectedVersion = Annotated[
    int | None, Query(ge=0, description="Apply only if the license is at this version.")
]
Cursor = Annotated[
    str | None, Query(max_length=512, description="The next_cursor of the previous page.")
]
Limit = Annotated[int, Query(ge=1, le=200, description="The most items on the page.")]


@router.post(
    "",
    summary="Grant a license to an organization",
    status_code=202,
    response_model=LicenseCommandAccepted,
    responses=problem_responses(422, 503),
)
async def create_license(
    organization_id: UUID, body: LicenseCreate, commands: CommandsDep
) -> Response:
    """Publish CreateLicense; the new license's id is in the answer. The licensing
    service rejects it if the organization is unknown or deleted."""
    license_id = aggregate_id_for("license", commands.issuer.command_id)
    command = license_command(
        "create", str(organization_id), license_id, commands.issuer, body.model_dump()
    )
    return await commands.send(command)


@router.get(
    "",
    summary="List an organization's licenses",
    response_model=LicensePage,
    responses=problem_responses(422, 503),
)
async def list_licenses(
    organization_id: UUID, views: ViewsDep, cursor: Cursor = None, limit: Limit = 50
) -> Response:
    """One page of enriched licenses, in the index's order; pass next_cursor for more."""
    try:
        page = await views.licenses(str(organization_id), cursor, limit)
    except ValueError:
        member = {"parameter": "cursor", "detail": "Not a cursor of this list.", "code": "cursor"}
        raise Problem(422, "The cursor is malformed.", errors=[member]) from None
    # The items are JSON as stored: joined, never parsed and dumped again.
    tail = {"total": page.total, "next_cursor": page.next_cursor, "limit": limit}
    body = b'{"items":[' + b",".join(page.items) + b"]," + orjson.dumps(tail)[1:]
    return Response(body, media_type="application/json")


@router.get(
    LICENSE.under(router.prefix),
    summary="Read a license",
    response_model=LicensePublic,
    responses=READ_PROBLEMS,
)
async def read_license(
    organization_id: UUID, license_id: UUID, views: ViewsDep, min_version: MinVersionDep
) -> Response:
    """The enriched license view exactly as stored: no re-serialization on the hot path."""
    await min_version.wait(views, LICENSE.view, str(organization_id), str(license_id))
    return served(await LICENSE.read(views, str(organization_id), str(license_id)))


@router.put(
    "/{license_id}",
    summary="Replace a license's details",
    status_code=202,
    response_model=LicenseCommandAccepted,
    responses=problem_responses(422, 503),
)
async def update_license(
    organization_id: UUID, license_id: UUID, body: LicenseUpdate, commands: CommandsDep
) -> Response:
    """Publish UpdateLicense; the write side decides whether it exists."""
    details = body.model_dump(exclude={"expected_version"})
    command = license_command(
        "update",
        str(organization_id),
        str(license_id),
        commands.issuer,
        details,
        body.expected_version,
    )
    return await commands.send(command)


@router.delete(
    "/{license_id}",
    summary="Revoke a license",
    status_code=202,
    response_model=LicenseCommandAccepted,
    responses=problem_responses(422, 503),
)
async def delete_license(
    organization_id: UUID,
    license_id: UUID,
    commands: CommandsDep,
    expected_version: ExpectedVersion = None,
) -> Response:
    """Publish DeleteLicense."""
    command = license_command(
        "delete",
        str(organization_id),
        str(license_id),
        commands.issuer,
        expected_version=expected_version,
    )
    return await commands.send(command)
