"""`ostock publish`: send commands from flags or from a JSON-lines file."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

import typer

from ostock.commands import Issuer, license_command, organization_command
from ostock.contract.records import Command, name_of
from ostock.kafka.publisher import CommandPublisher
from ostock.settings import Settings

app = typer.Typer(help="Publish commands to the command topics.", no_args_is_help=True)

ISSUER = "cli"
#: The string fields of an organization; its website is optional (null).
ORGANIZATION_FIELDS = ("name", "contact_name", "contact_email", "contact_phone")
LICENSE_FIELDS = ("product_name", "license_type", "description", "comment")


def _send(commands: list[Command]) -> None:
    count = CommandPublisher(Settings()).publish(commands)
    for command in commands:
        typer.echo(
            json.dumps(
                {
                    "command_id": command.meta.command_id,
                    "type": name_of(command),
                    "aggregate_id": command.meta.aggregate_id,
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
    website: Annotated[str | None, typer.Option(help="An http(s) URL.")] = None,
    organization_id: Annotated[str, typer.Option(help="Default: a new UUID.")] = "",
    command_id: str = "",
) -> None:
    """Create an organization."""
    details = dict(
        name=name,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        website=website,
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
    website: Annotated[str | None, typer.Option(help="An http(s) URL; left out: none.")] = None,
    expected_version: int | None = None,
    command_id: str = "",
) -> None:
    """Replace an organization's details (all of them: a detail left out is cleared)."""
    details = dict(
        name=name,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        website=website,
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


@app.command("create-license")
def create_license(
    organization_id: str,
    product_name: Annotated[str, typer.Option(help="Product (required).")],
    license_type: Annotated[str, typer.Option(help="e.g. user, core-seat, site (required).")],
    description: str = "",
    comment: str = "",
    license_id: Annotated[str, typer.Option(help="Default: a new UUID.")] = "",
    command_id: str = "",
) -> None:
    """Grant a license to an organization."""
    details = dict(
        product_name=product_name,
        license_type=license_type,
        description=description,
        comment=comment,
    )
    issuer = Issuer(ISSUER, command_id=command_id)
    _send([license_command("create", organization_id, license_id or str(uuid4()), issuer, details)])


@app.command("update-license")
def update_license(
    organization_id: str,
    license_id: str,
    product_name: Annotated[str, typer.Option(help="Product (required).")],
    license_type: Annotated[str, typer.Option(help="License type (required).")],
    description: str = "",
    comment: str = "",
    expected_version: int | None = None,
    command_id: str = "",
) -> None:
    """Replace a license's details."""
    details = dict(
        product_name=product_name,
        license_type=license_type,
        description=description,
        comment=comment,
    )
    issuer = Issuer(ISSUER, command_id=command_id)
    _send(
        [license_command("update", organization_id, license_id, issuer, details, expected_version)]
    )


@app.command("delete-license")
def delete_license(
    organization_id: str, license_id: str, expected_version: int | None = None, command_id: str = ""
) -> None:
    """Delete a license."""
    issuer = Issuer(ISSUER, command_id=command_id)
    _send([license_command("delete", organization_id, license_id, issuer, None, expected_version)])


@app.command("file")
def from_file(
    path: Annotated[Path, typer.Argument(help="JSON lines; '-' reads standard input.")],
) -> None:
    """Send one command per line: {"command": "create-organization", "name": ...} or
    {"command": "create-license", "organization_id": ..., "product_name": ...}."""
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
    if action not in ("create", "update", "delete") or entity not in ("organization", "license"):
        raise ValueError(f"unknown command {item['command']!r}")
    issuer = Issuer(ISSUER, command_id=item.get("command_id", ""))
    expected = item.get("expected_version")
    if entity == "organization":
        organization_id = item.get("organization_id") or str(uuid4())
        return organization_command(
            action, organization_id, issuer, _organization_details(item, action), expected
        )
    details = _fields(item, LICENSE_FIELDS, action)
    license_id = item.get("license_id") or str(uuid4())
    return license_command(action, item["organization_id"], license_id, issuer, details, expected)


def _fields(item: dict[str, Any], names: tuple[str, ...], action: str) -> dict[str, str] | None:
    return None if action == "delete" else {name: str(item.get(name, "")) for name in names}


def _organization_details(item: dict[str, Any], action: str) -> dict[str, str | None] | None:
    strings = _fields(item, ORGANIZATION_FIELDS, action)
    if strings is None:
        return None
    website = item.get("website")
    return {**strings, "website": None if website is None else str(website)}
