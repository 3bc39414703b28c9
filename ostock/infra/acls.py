"""Who may do what on Kafka under the production profile: the one ACL table
(docs/architecture.md, "Topics").

`ostock infra up` creates these bindings as the admin principal; the broker refuses
everything else (allow.everyone.if.no.acl.found=false).
"""

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported, no __all__
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from ostock.deployables import handler_group
from ostock.kafka.config import admin_config
from ostock.kafka.first_records import PROBE_GROUP
from ostock.kafka.schema_registry import READER_GROUP
from ostock.settings import Settings

#: Super users: the node itself (inter-broker and controller) and the operator's admin.
SUPER_USERS = ("broker", "admin")

#: The projectors' consumer groups (streams.worker.PROJECTORS, the saga apart).
PROJECTORS = (
    "organization-projector",
    "command-status-projector",
    "license-projector",
    "licensing-organizations",
)
POLL_S = 0.1
READ = (AclOperation.READ, AclOperation.DESCRIBE)
WRITE = (AclOperation.WRITE, AclOperation.DESCRIBE)


@dataclass(frozen=True)
class Grant:
    """Operations on one resource, or on every resource whose name starts with `name`."""

    resource: ResourceType
    name: str
    operations: tuple[AclOperation, ...]
    prefixed: bool = False


def topic(name: str, operations: tuple[AclOperation, ...]) -> Grant:
    """A grant on one topic."""
    return Grant(ResourceType.TOPIC, name, operations)


def group(name: str, prefixed: bool = False) -> Grant:
    """Membership and offsets of one consumer group (or of every group named `name`...)."""
    return Grant(ResourceType.GROUP, name, READ, prefixed)


def grants(settings: Settings) -> dict[str, tuple[Grant, ...]]:
    """Each application principal's grants; the principal names are the SCRAM users."""
    t = settings.topics
    live = settings.redis_prefix  # projector groups are named <prefix>.<projector>
    # The schema registry: every process reads it, and each writer registers its schemas.
    reads_schemas = (topic(t.schemas, READ), group(READER_GROUP))
    writes_schemas = (topic(t.schemas, (*WRITE, AclOperation.READ)), group(READER_GROUP))

    def service(name: str, commands: str, events: str) -> tuple[Grant, ...]:
        return (
            # It forwards a command put on another partition than its organization's.
            topic(commands, (*WRITE, AclOperation.READ)),
            topic(events, (*WRITE, AclOperation.READ)),  # it loads its aggregates back
            topic(t.command_results, WRITE),
            topic(t.dead_letters, WRITE),
            *writes_schemas,
            # Its handlers' group (ostock.deployables.handler_group), and per instance its
            # transactional id and loader group: ostock.<service>.<instance>[.loader].
            group(handler_group(name)),
            group(f"{handler_group(name)}.", prefixed=True),
            Grant(ResourceType.TRANSACTIONAL_ID, f"ostock.{name}.", WRITE, prefixed=True),
        )

    consumed = (
        t.organization_commands,
        t.license_commands,
        t.organization_events,
        t.license_events,
        t.command_results,
    )
    streams = (*(f"{live}.{name}" for name in PROJECTORS), f"{live}.cascade-delete-saga")
    return {
        "api": (
            topic(t.organization_commands, WRITE),
            topic(t.license_commands, WRITE),
            *writes_schemas,
        ),
        "organization-service": service(
            "organization-service", t.organization_commands, t.organization_events
        ),
        "licensing-service": (
            *service("licensing-service", t.license_commands, t.license_events),
            topic(t.organization_events, READ),
            # It reads the organization service's committed offsets (handlers.directory).
            topic(t.organization_commands, (AclOperation.DESCRIBE,)),
            Grant(
                ResourceType.GROUP,
                handler_group("organization-service"),
                (AclOperation.DESCRIBE,),
            ),
        ),
        "projector": (
            *(topic(name, READ) for name in (t.organization_events, t.license_events)),
            *(topic(name, READ) for name in (t.organization_commands, t.license_commands)),
            topic(t.command_results, READ),
            topic(t.dead_letters, WRITE),
            *reads_schemas,
            *(group(f"{live}.{name}") for name in PROJECTORS),
        ),
        # It reads how far every group is, and the first record each has yet to read (its
        # reader's group id is looked up, though it joins no group and commits nothing).
        "lag-exporter": (
            *(topic(name, READ) for name in consumed),
            Grant(ResourceType.GROUP, PROBE_GROUP, (AclOperation.DESCRIBE,)),
            *(
                Grant(ResourceType.GROUP, name, (AclOperation.DESCRIBE,))
                for name in (
                    handler_group("organization-service"),
                    handler_group("licensing-service"),
                    *streams,
                )
            ),
        ),
        "saga": (
            topic(t.organization_events, READ),
            topic(t.license_events, READ),
            topic(t.license_commands, WRITE),
            topic(t.dead_letters, WRITE),
            *writes_schemas,
            group(f"{live}.cascade-delete-saga"),
        ),
    }


def principals(settings: Settings) -> tuple[str, ...]:
    """Every SCRAM user the broker knows: super users first."""
    return (*SUPER_USERS, *grants(settings))


def bindings(settings: Settings) -> list[AclBinding]:
    """The table as ALLOW bindings, one per principal, resource and operation."""
    return [
        AclBinding(
            grant.resource,
            grant.name,
            ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
            f"User:{principal}",
            "*",
            operation,
            AclPermissionType.ALLOW,
        )
        for principal, table in grants(settings).items()
        for grant in table
        for operation in grant.operations
    ]


def ensure_acls(settings: Settings) -> int:
    """Create every binding of the table (creating one twice is a no-op); return how many.

    None under the plaintext profile, whose broker has no authorizer.
    """
    if settings.kafka_security == "plaintext":
        return 0
    wanted = bindings(settings)
    admin = AdminClient(admin_config(settings))
    timeout = settings.kafka_timeout_s
    for future in admin.create_acls(wanted, request_timeout=timeout).values():
        future.result(timeout=timeout)
    _wait_effective(admin, len(wanted), timeout)
    return len(wanted)


def _wait_effective(admin: AdminClient, count: int, timeout_s: float) -> None:
    # The controller acknowledges before the broker's authorizer has the new metadata;
    # DescribeAcls answers from that authorizer, so poll it until all are there.
    anything: Any = None  # matches any name, principal or host (the stubs want a str)
    every = AclBindingFilter(
        ResourceType.ANY,
        anything,
        ResourcePatternType.ANY,
        anything,
        anything,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    deadline = time.monotonic() + timeout_s
    while len(admin.describe_acls(every).result(timeout=timeout_s)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broker did not apply {count} ACLs in {timeout_s:.0f}s")
        time.sleep(POLL_S)
