"""The records of the contract as small immutable types: commands, events and command
results, each field (and its default) as the newest version of its schema in schemas/
declares it (tests/unit/contract/test_records.py fails if a type and its schema drift).

The codec turns bytes into these and back (Codec.read, Codec.write); their dict form
stays inside it.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from ostock.contract import names


class UndecodableRecord(ValueError):
    """A record that cannot be read: bad framing, unknown schema, corrupt body or wrong type."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Record(NamedTuple):
    """A decoded record: its full schema name and its fields in the reader's shape."""

    name: str
    fields: dict[str, Any]


class CommandMeta(NamedTuple):
    """The envelope of every command (ostock.CommandMeta)."""

    command_id: str
    aggregate_id: str
    organization_id: str
    expected_version: int | None
    issued_at: datetime
    issued_by: str
    correlation_id: str


class EventMeta(NamedTuple):
    """The envelope of every event (ostock.EventMeta)."""

    event_id: str
    aggregate_id: str
    organization_id: str
    version: int
    occurred_at: datetime
    command_id: str
    correlation_id: str
    issued_by: str


class CreateOrganization(NamedTuple):
    meta: CommandMeta
    name: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str | None = None


class UpdateOrganization(NamedTuple):
    meta: CommandMeta
    name: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str | None = None


class DeleteOrganization(NamedTuple):
    meta: CommandMeta


class CreateLicense(NamedTuple):
    meta: CommandMeta
    product_name: str
    license_type: str
    description: str = ""
    comment: str = ""


class UpdateLicense(NamedTuple):
    meta: CommandMeta
    product_name: str
    license_type: str
    description: str = ""
    comment: str = ""


class DeleteLicense(NamedTuple):
    meta: CommandMeta


class OrganizationCreated(NamedTuple):
    meta: EventMeta
    name: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str | None = None


class OrganizationUpdated(NamedTuple):
    meta: EventMeta
    name: str
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str | None = None


class OrganizationDeleted(NamedTuple):
    meta: EventMeta


class LicenseCreated(NamedTuple):
    meta: EventMeta
    product_name: str
    license_type: str
    description: str = ""
    comment: str = ""


class LicenseUpdated(NamedTuple):
    meta: EventMeta
    product_name: str
    license_type: str
    description: str = ""
    comment: str = ""


class LicenseDeleted(NamedTuple):
    meta: EventMeta


class CommandResult(NamedTuple):
    """The decision on one command (ostock.CommandResult)."""

    command_id: str
    status: Literal["accepted", "rejected"]
    command_type: str
    aggregate_id: str
    organization_id: str
    version: int | None
    error_code: str | None
    error_message: str | None
    decided_at: datetime
    correlation_id: str


OrganizationCommand = CreateOrganization | UpdateOrganization | DeleteOrganization
LicenseCommand = CreateLicense | UpdateLicense | DeleteLicense
Command = OrganizationCommand | LicenseCommand
OrganizationEvent = OrganizationCreated | OrganizationUpdated | OrganizationDeleted
LicenseEvent = LicenseCreated | LicenseUpdated | LicenseDeleted
Event = OrganizationEvent | LicenseEvent
Contract = Command | Event | CommandResult

#: The type of each record of the contract, by its full name (ostock.contract.names).
TYPES: dict[str, type[Contract]] = {
    names.CREATE_ORGANIZATION: CreateOrganization,
    names.UPDATE_ORGANIZATION: UpdateOrganization,
    names.DELETE_ORGANIZATION: DeleteOrganization,
    names.CREATE_LICENSE: CreateLicense,
    names.UPDATE_LICENSE: UpdateLicense,
    names.DELETE_LICENSE: DeleteLicense,
    names.ORGANIZATION_CREATED: OrganizationCreated,
    names.ORGANIZATION_UPDATED: OrganizationUpdated,
    names.ORGANIZATION_DELETED: OrganizationDeleted,
    names.LICENSE_CREATED: LicenseCreated,
    names.LICENSE_UPDATED: LicenseUpdated,
    names.LICENSE_DELETED: LicenseDeleted,
    names.COMMAND_RESULT: CommandResult,
}
NAMES: dict[type[Any], str] = {kind: name for name, kind in TYPES.items()}
_METAS: dict[type[Contract], type[CommandMeta] | type[EventMeta]] = {
    kind: CommandMeta if name in names.COMMANDS else EventMeta
    for name, kind in TYPES.items()
    if name != names.COMMAND_RESULT
}


R = TypeVar("R", bound=Contract, covariant=True)


@dataclass(frozen=True)
class Kinds(Generic[R]):
    """The records a reader takes: their types, for the type checker, and their names,
    for the codec."""

    types: tuple[type[R], ...]

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(NAMES[kind] for kind in self.types)

    def narrow(self, record: Contract) -> R:
        """`record`, which must be of one of the types; `unexpected-type` if not."""
        if isinstance(record, self.types):
            return record
        raise UndecodableRecord("unexpected-type", f"{name_of(record)} does not belong here")


def name_of(record: Contract) -> str:
    """The full name of `record`'s schema."""
    return NAMES[type(record)]


def typed(record: Record) -> Contract:
    """A record as the codec decodes it, as its type; `unexpected-type` for a name the
    contract lacks. The codec gives the fields in the newest schema's order, which is each
    type's (the envelope first): they are taken by position, cheaper than by name."""
    kind = TYPES.get(record.name)
    if kind is None:
        raise UndecodableRecord("unexpected-type", f"{record.name} is not in the contract")
    meta = _METAS.get(kind)
    if meta is None:
        return kind._make(record.fields.values())
    values = list(record.fields.values())
    values[0] = meta._make(values[0].values())
    return kind._make(values)


def fields_of(record: Contract) -> dict[str, Any]:
    """`record` as the dict the Avro writer takes."""
    fields = record._asdict()
    meta = fields.get("meta")
    if meta is not None:
        fields["meta"] = meta._asdict()
    return fields


ORGANIZATION_COMMANDS: Kinds[OrganizationCommand] = Kinds(
    (CreateOrganization, UpdateOrganization, DeleteOrganization)
)
LICENSE_COMMANDS: Kinds[LicenseCommand] = Kinds((CreateLicense, UpdateLicense, DeleteLicense))
COMMANDS: Kinds[Command] = Kinds((*ORGANIZATION_COMMANDS.types, *LICENSE_COMMANDS.types))
ORGANIZATION_EVENTS: Kinds[OrganizationEvent] = Kinds(
    (OrganizationCreated, OrganizationUpdated, OrganizationDeleted)
)
LICENSE_EVENTS: Kinds[LicenseEvent] = Kinds((LicenseCreated, LicenseUpdated, LicenseDeleted))
EVENTS: Kinds[Event] = Kinds((*ORGANIZATION_EVENTS.types, *LICENSE_EVENTS.types))
RESULTS: Kinds[CommandResult] = Kinds((CommandResult,))
