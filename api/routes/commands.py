"""Command status: what became of a published command."""

from uuid import UUID

from fastapi import APIRouter, Response

from api.deps import ViewsDep
from api.problems import Problem, problem_responses
from api.schemas.commands import CommandStatusPublic

router = APIRouter(prefix="/v1/commands", tags=["commands"])


@router.get(
    "/{command_id}",
    summary="Read a command's status",
    response_model=CommandStatusPublic,
    responses=problem_responses(404, 422, 503),
)
async def read_command(command_id: UUID, views: ViewsDep) -> Response:
    """Pending, accepted (with the resulting version) or rejected (with the reason)."""
    body = await views.command(str(command_id))
    if body is None:
        raise Problem(404, f"Command {command_id} is unknown.")
    return Response(body, media_type="application/json")
