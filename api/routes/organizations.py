"""Organizations: reads serve the Redis view as stored, writes publish commands (202)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.commands import aggregate_id_for
from api.deps import CommandsDep, ViewsDep
from api.problems import problem_responses
from api.reads import ORGANIZATION, READ_PROBLEMS, MinVersionDep, served
from api.schemas.commands import CommandAccepted
from api.schemas.organizations import OrganizationCreate, OrganizationPublic, OrganizationUpdate
from ostock.commands import organization_command

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])

ExpectedVersion = Annotated[
    int | None, Query(ge=0, description="Apply only if the organization is at this version.")
]


@router.post(
    "",
    summary="Create an organization",
    status_code=202,
    response_model=CommandAccepted,
    responses=problem_responses(422, 503),
)
async def create_organization(body: OrganizationCreate, commands: CommandsDep) -> Response:
    """Publish CreateOrganization; the new organization's id is in the answer."""
    organization_id = aggregate_id_for("organization", commands.issuer.command_id)
    command = organization_command("create", organization_id, commands.issuer, body.model_dump())
    return await commands.send(command)


@router.get(
    ORGANIZATION.under(router.prefix),
    summary="Read an organization",
    response_model=OrganizationPublic,
    responses=READ_PROBLEMS,
)
async def read_organization(
    organization_id: UUID, views: ViewsDep, min_version: MinVersionDep
) -> Response:
    """The organization view exactly as stored: no re-serialization on the hot path."""
    await min_version.wait(views, ORGANIZATION.view, str(organization_id), str(organization_id))
    return served(await ORGANIZATION.read(views, str(organization_id)))


@router.put(
    "/{organization_id}",
    summary="Replace an organization's details",
    status_code=202,
    response_model=CommandAccepted,
    responses=problem_responses(422, 503),
)
async def update_organization(
    organization_id: UUID, body: OrganizationUpdate, commands: CommandsDep
) -> Response:
    """Publish UpdateOrganization; the write side decides whether it exists."""
    details = body.model_dump(exclude={"expected_version"})
    command = organization_command(
        "update", str(organization_id), commands.issuer, details, body.expected_version
    )
    return await commands.send(command)


@router.delete(
    "/{organization_id}",
    summary="Delete an organization",
    status_code=202,
    response_model=CommandAccepted,
    responses=problem_responses(422, 503),
)
async def delete_organization(
    organization_id: UUID, commands: CommandsDep, expected_version: ExpectedVersion = None
) -> Response:
    """Publish DeleteOrganization; its licenses follow (the licensing saga)."""
    command = organization_command(
        "delete", str(organization_id), commands.issuer, expected_version=expected_version
    )
    return await commands.send(command)
