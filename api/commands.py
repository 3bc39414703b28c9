"""The write path: encode a command, publish it, answer 202 Accepted."""

import logging
from typing import Literal
from uuid import UUID, uuid5

import orjson
from fastapi import Response
from opentelemetry.trace import Tracer

from api.problems import Problem
from api.publisher import KafkaUnavailable, Publisher
from ostock.commands import Issuer
from ostock.contract import Codec
from ostock.contract.records import Command, LicenseCommand, name_of
from ostock.kafka.delivery import Outgoing
from ostock.kafka.publisher import command_record
from ostock.kafka.tracing import sending, with_context
from ostock.settings import Topics
from ostock.telemetry.context import about

log = logging.getLogger(__name__)

# New aggregates' ids derive from the command id, so a create retried with the same
# Idempotency-Key targets the same aggregate (and partition) and is deduplicated there.
# One namespace per kind: the same key never names an organization and a license alike.
_ID_NAMESPACES = {
    "organization": UUID("6f1d3c1e-5a0b-4c52-9a53-2f0e5f2b7c11"),
    "license": UUID("83ddb660-24cc-4384-9954-bee7b9f75eea"),
}


def aggregate_id_for(kind: Literal["organization", "license"], command_id: str) -> str:
    """The id a create command of `kind` with this command id assigns."""
    return str(uuid5(_ID_NAMESPACES[kind], command_id))


class CommandSender:
    """Sends the commands of one request, issued by its caller under its correlation id.

    A command carries the request's `traceparent` on; given a tracer, it is sent in a span
    of the request's trace instead, and carries that span's context.
    """

    def __init__(
        self,
        publisher: Publisher,
        codec: Codec,
        topics: Topics,
        issuer: Issuer,
        traceparent: str,
        tracer: Tracer | None = None,
    ) -> None:
        self.issuer = issuer
        self._publisher = publisher
        self._codec = codec
        self._topics = topics
        self._traceparent = traceparent
        self._tracer = tracer

    async def send(self, command: Command) -> Response:
        """Publish `command` and answer 202 with its id and a Location to poll."""
        meta = command.meta
        record = command_record(self._codec, self._topics, command, self._traceparent)
        try:
            await self._publish(record)
        except KafkaUnavailable as error:
            # The broker may still have it: the same command id makes a retry safe.
            raise Problem(
                503,
                f"{error}. Retry with header Idempotency-Key: {meta.command_id}",
                command_id=meta.command_id,
            ) from error
        with about(record.topic, headers=record.headers):
            log.debug("%s %s sent", name_of(command), meta.command_id)
        body = {"command_id": meta.command_id, "organization_id": meta.organization_id}
        if isinstance(command, LicenseCommand):
            body["license_id"] = meta.aggregate_id
        body["status"] = "pending"
        return Response(
            orjson.dumps(body),
            status_code=202,
            media_type="application/json",
            headers={
                "Location": f"/v1/commands/{meta.command_id}",
                "X-Correlation-ID": self.issuer.correlation_id,
            },
        )

    async def _publish(self, record: Outgoing) -> None:
        if self._tracer is None:
            await self._publisher.publish(record)
            return
        with sending(self._tracer, record.topic, record.key):
            await self._publisher.publish(record._replace(headers=with_context(record.headers)))
