"""The cascade-delete saga as a stream processor: an organization's deletion deletes its
licenses, with DeleteLicense commands the licensing service decides like any other.

One handler reads the organization events and the license events as one stream: both
are keyed by organization id and co-partitioned, so the saga's decisions about one
organization are made one after another. For each batch, in this order:

1. decode (poison to the dead letters) and load the memories of its organizations;
2. decide (ostock.sagas.cascade_delete, through streams.saga_reactions);
3. send the decided commands and wait for the broker's acks;
4. store the new memories;
5. ack the offsets.

A redelivered deletion then issues nothing (its memory says deleted), and a crash
between 3 and 4 re-issues the same deterministic command ids, which the licensing
service answers without a second event. Redis or Kafka failures are retried, never
skipped.
"""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial

from faust.types import Message
from opentelemetry import trace
from opentelemetry.context import Context

from ostock.contract.records import EVENTS, Command, Event, name_of
from ostock.kafka.schema_registry import register, registry_codec
from ostock.retry import until_done
from ostock.settings import Settings
from ostock.views.client import redis_client
from ostock.views.keys import Keys
from streams.app import BatchApp, BatchHandler
from streams.batches import decode_all, log_each
from streams.deadletters import DeadLetters
from streams.saga_memory import SagaMemories
from streams.saga_reactions import Tracked, concerned, react
from streams.sender import CommandSender
from streams.tracing import Position, traced_batch

log = logging.getLogger(__name__)

NAME = "cascade-delete-saga"


def install(app: BatchApp, settings: Settings) -> None:
    """Add the saga over settings.topics.organization_events and license_events."""
    codec = registry_codec(settings)  # finds schemas published after it was built
    register(settings, codec.schemas)  # before it sends a command with one of them
    dead_letters = DeadLetters(app, settings.topics.dead_letters)
    sender = CommandSender(app, settings, codec)

    async def handle(memories: SagaMemories, messages: Sequence[Message]) -> None:
        with traced_batch(app.otel_tracer, app.conf.id, messages) as spans:
            await decide(memories, messages, spans)

    async def decide(
        memories: SagaMemories,
        messages: Sequence[Message],
        spans: dict[Position, trace.Span] | None,
    ) -> None:
        decoded, poison = decode_all(codec, messages, EVENTS)
        records = [positioned.record for positioned in decoded]
        organizations = concerned(records)
        loaded = await until_done(lambda: memories.load(organizations), f"{NAME}: loading memory")
        tracked = {o: Tracked(memory) for o, memory in loaded.items()}
        if spans is None:
            commands, causes = react(tracked, records), None
        else:
            positions = [(p.topic, p.partition, p.offset) for p in decoded]
            commands, causes = _react_traced(tracked, records, [spans[p] for p in positions])
        send = partial(sender.send, commands, causes)
        await until_done(send, f"{NAME}: sending {len(commands)}")
        _log_issued(commands)
        log_each(log, messages, f"{NAME}: handled")
        await until_done(lambda: memories.store(tracked), f"{NAME}: storing memory")
        if poison:
            await until_done(lambda: dead_letters.send(poison), f"{NAME}: dead-lettering")

    @asynccontextmanager
    async def opened() -> AsyncIterator[BatchHandler]:
        # The client lives in the worker's event loop, as long as the consumer fetches.
        redis = redis_client(settings)
        try:
            yield partial(handle, SagaMemories(redis, Keys(settings.redis_prefix)))
        finally:
            await redis.aclose()

    topics = [settings.topics.organization_events, settings.topics.license_events]
    app.route(topics, opened)


def _react_traced(
    tracked: dict[str, Tracked], records: Sequence[Event], spans: Sequence[trace.Span]
) -> tuple[list[Command], list[Context]]:
    """react, event by event: the commands, and the context of each one's cause, the span
    of the event that decided it, so each command continues its event's trace."""
    commands: list[Command] = []
    causes: list[Context] = []
    for record, span in zip(records, spans, strict=True):
        issued = react(tracked, [record])
        commands += issued
        causes += [trace.set_span_in_context(span)] * len(issued)
    return commands, causes


def _log_issued(commands: Sequence[Command]) -> None:
    for command in commands:
        meta = command.meta
        log.info(
            "issued %s %s for license %s of organization %s",
            name_of(command),
            meta.command_id,
            meta.aggregate_id,
            meta.organization_id,
            extra={"correlation_id": meta.correlation_id},
        )
