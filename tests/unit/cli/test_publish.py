"""`ostock publish`: the commands built from flags and from JSON lines (nothing sent)."""

import pytest
from typer.testing import CliRunner

from ostock.cli import publish
from ostock.contract.records import Command, fields_of


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
    assert [fields_of(command)["website"] for command in sent] == ["https://acme.example", None]


def test_a_line_may_carry_a_website_or_leave_it_out() -> None:
    lines = [
        '{"command": "create-organization", "name": "Acme", "website": "https://acme.example"}',
        '{"command": "update-organization", "organization_id": "o-1", "name": "Acme"}',
        '{"command": "delete-organization", "organization_id": "o-1"}',
    ]

    create, update, delete = publish._parse(iter(lines))

    assert fields_of(create)["website"] == "https://acme.example"
    assert fields_of(update)["website"] is None
    assert "website" not in fields_of(delete)
