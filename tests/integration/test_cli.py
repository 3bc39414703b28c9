"""The `ostock` command as a user runs it: publish from flags and from a file, read back."""

import json
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from ostock.settings import Settings, settings_env

pytestmark = pytest.mark.integration


def ostock(settings: Settings, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ostock", *args],
        env=settings_env(settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_publish_from_flags_and_file_then_read_the_topic(
    settings: Settings, tmp_path: Path
) -> None:
    organization_id = str(uuid4())
    published = ostock(
        settings,
        "publish",
        "create-organization",
        "--name",
        "Initech",
        "--contact-email",
        "bill@initech.example",
        "--organization-id",
        organization_id,
    )
    assert json.loads(published)["aggregate_id"] == organization_id
    lines = tmp_path / "commands.jsonl"
    lines.write_text(
        json.dumps(
            {
                "command": "update-organization",
                "organization_id": organization_id,
                "name": "Initrode",
            }
        )
        + "\n\n"
        + json.dumps({"command": "delete-organization", "organization_id": organization_id})
        + "\n"
    )
    assert len(ostock(settings, "publish", "file", str(lines)).splitlines()) == 2

    records = [
        json.loads(line)
        for line in ostock(settings, "events", settings.topics.organization_commands).splitlines()
    ]
    mine = [r for r in records if r["key"] == organization_id]
    assert [r["type"] for r in mine] == [
        "ostock.organization.CreateOrganization",
        "ostock.organization.UpdateOrganization",
        "ostock.organization.DeleteOrganization",
    ]
    assert mine[0]["value"]["contact_email"] == "bill@initech.example"
    assert mine[1]["value"]["name"] == "Initrode"
    assert mine[0]["value"]["meta"]["issued_by"] == "cli"


def test_a_bad_line_is_refused_with_its_number(settings: Settings, tmp_path: Path) -> None:
    lines = tmp_path / "bad.jsonl"
    lines.write_text(json.dumps({"command": "create-organization", "name": "ok"}) + "\n{not json\n")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        ostock(settings, "publish", "file", str(lines))
    assert "line 2" in failed.value.stderr
