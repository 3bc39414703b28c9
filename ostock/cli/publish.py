"""`ostock publish`: send commands from flags or from a JSON-lines file."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

import typer

from ostock.commands import Command, Issuer, organization_command
from ostock.publisher import CommandPublisher
from ostock.settings import Settings

app = typer.Typer(help="Publish commands to the command topics.", no_args_is_help=True)

ISSUER = "cli"
DETAIL_FIELDS = ("name", "contact_name", "contact_email", "contact_phone")


def _send(commands: list[Command]) -> None:
    count = CommandPublisher(Settings()).publish(commands)
    for command in commands:
        typer.echo(
            json.dumps(
                {
                    "command_id": command.command_id,
                    "type": command.name,
                    "aggregate_id": command.aggregate_id,
                }
            )
        )
    typer.echo(f"published {count} command(s)", err=True)


@app.command("create-organization")
def create_organization(
    name: Annotated[str, typer.Option(help="Organization name (required).")],
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    organization_id: Annotated[str, typer.Option(help="Default: a new UUID.")] = "",
    command_id: str = "",
) -> None:
    """Create an organization."""
    details = dict(
        name=name,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    issuer = Issuer(ISSUER, command_id=command_id)
    _send([organization_command("create", organization_id or str(uuid4()), issuer, details)])


@app.command("update-organization")
def update_organization(
    organization_id: str,
    name: Annotated[str, typer.Option(help="The new name (required).")],
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    expected_version: int | None = None,
    command_id: str = "",
) -> None:
    """Replace an organization's details."""
    details = dict(
        name=name,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    issuer = Issuer(ISSUER, command_id=command_id)
    _send([organization_command("update", organization_id, issuer, details, expected_version)])


@app.command("delete-organization")
def delete_organization(
    organization_id: str, expected_version: int | None = None, command_id: str = ""
) -> None:
    """Delete an organization."""
    issuer = Issuer(ISSUER, command_id=command_id)
    _send([organization_command("delete", organization_id, issuer, None, expected_version)])


@app.command("file")
def from_file(
    path: Annotated[Path, typer.Argument(help="JSON lines; '-' reads standard input.")],
) -> None:
    """Send one command per line: {"command": "create-organization", "name": ...}."""
    lines = sys.stdin if str(path) == "-" else path.open()
    with lines:
        _send(list(_parse(lines)))


def _parse(lines: Iterator[str]) -> Iterator[Command]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield _command_of(json.loads(line))
        except (ValueError, KeyError) as error:
            raise typer.BadParameter(f"line {number}: {error}") from None


def _command_of(item: dict[str, Any]) -> Command:
    action, _, entity = str(item["command"]).partition("-")
    if entity != "organization" or action not in ("create", "update", "delete"):
        raise ValueError(f"unknown command {item['command']!r}")
    organization_id = item.get("organization_id") or str(uuid4())
    issuer = Issuer(ISSUER, command_id=item.get("command_id", ""))
    details = {f: str(item.get(f, "")) for f in DETAIL_FIELDS} if action != "delete" else None
    return organization_command(
        action, organization_id, issuer, details, item.get("expected_version")
    )
