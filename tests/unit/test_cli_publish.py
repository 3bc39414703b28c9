"""`ostock publish`: the commands built from flags and from JSON lines (nothing sent)."""

import pytest
from typer.testing import CliRunner

from ostock.cli import publish
from ostock.commands import Command


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Command]:
    commands: list[Command] = []
    monkeypatch.setattr(publish, "_send", commands.extend)
    return commands


def test_the_website_flag_goes_into_create_and_update(sent: list[Command]) -> None:
    runner = CliRunner()
    site = ["--website", "https://acme.example"]
    created = runner.invoke(publish.app, ["create-organization", "--name", "Acme", *site])
    updated = runner.invoke(publish.app, ["update-organization", "o-1", "--name", "Acme Ltd"])

    assert (created.exit_code, updated.exit_code) == (0, 0), created.output + updated.output
    assert [command.fields["website"] for command in sent] == ["https://acme.example", None]


def test_a_line_may_carry_a_website_or_leave_it_out() -> None:
    lines = [
        '{"command": "create-organization", "name": "Acme", "website": "https://acme.example"}',
        '{"command": "update-organization", "organization_id": "o-1", "name": "Acme"}',
        '{"command": "delete-organization", "organization_id": "o-1"}',
    ]

    create, update, delete = publish._parse(iter(lines))

    assert create.fields["website"] == "https://acme.example"
    assert update.fields["website"] is None
    assert "website" not in delete.fields
