"""A scripted workload through the real write side: organizations and their licenses
created, updated and deleted, with the versions every view must end at."""

import asyncio
import time
from dataclasses import dataclass, field
from uuid import uuid4

from ostock.commands import Issuer, license_command, organization_command
from ostock.contract.records import Command
from ostock.settings import Settings
from ostock.views.client import RedisClient, redis_client
from ostock.views.generations import LiveKeys
from ostock.views.keys import Keys

ISSUER = Issuer("workload")


@dataclass
class Versions:
    """The version of each view once some commands are decided."""

    #: organization id -> version of its view
    organizations: dict[str, int] = field(default_factory=dict)
    #: (organization id, license id) -> version of its view
    licenses: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        """Events decided so far: each aggregate's version counts its events."""
        return sum(self.organizations.values()) + sum(self.licenses.values())

    def copy(self) -> "Versions":
        return Versions(dict(self.organizations), dict(self.licenses))


@dataclass
class Phase:
    """Commands sent together, and the versions once they are all decided."""

    commands: list[Command]
    versions: Versions


@dataclass
class Workload:
    """Phases sent one after the other, each once the one before is decided: an
    organization's deletion must not overtake the creation of its licenses (another
    topic)."""

    phases: list[Phase]

    @property
    def versions(self) -> Versions:
        """The versions once everything is decided."""
        return self.phases[-1].versions


def organization_details(n: int, version: int) -> dict[str, str | None]:
    return {
        "name": f"Organization {n} v{version}",
        "contact_name": f"Contact {n}",
        "contact_email": f"contact{n}@example.org",
        "contact_phone": f"+1 555 {n:04d}",
    }


def license_details(n: int, version: int) -> dict[str, str]:
    return {
        "product_name": f"Product {n % 17}",
        "license_type": "user" if n % 2 else "core",
        "description": f"License {n} v{version}",
        "comment": "workload",
    }


def build(organizations: int, licenses_each: int) -> Workload:
    """Organizations created and updated twice; then their licenses created and updated,
    one in two deleted; then one organization in ten deleted (the saga deletes its live
    licenses). A license waits, bounded, for its organization (handlers.directory): under
    a burst of thousands of commands the organizations go first."""
    now, orgs, licenses = Versions(), list[Command](), list[Command]()
    for n in range(organizations):
        organization_id = str(uuid4())
        for version in (1, 2, 3):
            action = "create" if version == 1 else "update"
            details = organization_details(n, version)
            orgs.append(organization_command(action, organization_id, ISSUER, details))
        now.organizations[organization_id] = 3
    phases = [Phase(orgs, now.copy())]
    for n, organization_id in enumerate(list(now.organizations)):
        for i in range(licenses_each):
            license_id, number = str(uuid4()), n * licenses_each + i
            for version in (1, 2):
                action = "create" if version == 1 else "update"
                lic = license_details(number, version)
                licenses.append(license_command(action, organization_id, license_id, ISSUER, lic))
            now.licenses[(organization_id, license_id)] = 2
            if i % 2 == 0:
                licenses.append(license_command("delete", organization_id, license_id, ISSUER))
                now.licenses[(organization_id, license_id)] = 3
    phases.append(Phase(licenses, now.copy()))
    deleted = list(now.organizations)[9::10]
    for organization_id in deleted:
        now.organizations[organization_id] = 4
    for (organization_id, license_id), version in now.licenses.items():
        if organization_id in deleted and version == 2:
            now.licenses[(organization_id, license_id)] = 3  # the saga's deletion
    deletions: list[Command] = [organization_command("delete", o, ISSUER) for o in deleted]
    return Workload([*phases, Phase(deletions, now)])


def updates(work: Workload, every: int) -> Phase:
    """One more update of every `every`-th organization still there."""
    now, commands = work.versions.copy(), list[Command]()
    live = [o for o, version in now.organizations.items() if version < 4]
    for n, organization_id in enumerate(live[::every]):
        now.organizations[organization_id] += 1
        details = organization_details(n, now.organizations[organization_id])
        commands.append(organization_command("update", organization_id, ISSUER, details))
    return Phase(commands, now)


async def behind(redis: RedisClient, keys: Keys, versions: Versions) -> list[tuple[str, int, int]]:
    """The views of `work` not yet at their final version: (aggregate, at, wanted)."""
    async with redis.pipeline(transaction=False) as pipe:
        for organization_id in versions.organizations:
            pipe.hget(keys.organization(organization_id), "version")
        for organization_id, license_id in versions.licenses:
            pipe.hget(keys.license(organization_id, license_id), "version")
        stored = await pipe.execute()
    licenses = {license_id: v for (_, license_id), v in versions.licenses.items()}
    wanted = versions.organizations | licenses
    return [
        (aggregate, int(at or 0), want)
        for (aggregate, want), at in zip(wanted.items(), stored, strict=True)
        if int(at or 0) != want
    ]


async def wait_for_views(settings: Settings, versions: Versions, within_s: float = 120) -> None:
    """Wait until the live views under settings.redis_prefix reach `versions`."""
    async with redis_client(settings) as redis:
        live = LiveKeys(redis, settings.redis_prefix, refresh_s=0.1)
        deadline = time.monotonic() + within_s
        left: list[tuple[str, int, int]] = []
        while time.monotonic() < deadline:
            left = await behind(redis, await live.keys(), versions)
            if not left:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{len(left)} views behind after {within_s} s, e.g. {left[:5]}")
