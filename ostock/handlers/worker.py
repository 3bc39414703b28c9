"""The command-handler process of each service: its composition root."""

import gc
import logging
import signal
import threading
from collections.abc import Callable

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from ostock.contract import Codec
from ostock.deployables import handler_group, metrics_port
from ostock.handlers.application import CommandApplication, kafka_env
from ostock.handlers.directory import OrganizationDirectory
from ostock.handlers.licensing import LicensingService
from ostock.handlers.organization import OrganizationService
from ostock.handlers.runner import CommandHandler, HandlerSpec
from ostock.kafka.config import admin_config, consumer_config
from ostock.kafka.schema_registry import KafkaSchemaLookup, register
from ostock.settings import Settings
from ostock.telemetry.metrics import serve_metrics
from ostock.telemetry.tracing import install_tracing

log = logging.getLogger(__name__)

ServiceFactory = Callable[[Settings, str, Codec], tuple[HandlerSpec, CommandApplication]]


def _organization(
    settings: Settings, instance: str, codec: Codec
) -> tuple[HandlerSpec, CommandApplication]:
    spec = HandlerSpec(
        OrganizationService.name,
        settings.topics.organization_commands,
        OrganizationService.commands,
        (settings.topics.organization_events,),
    )
    env = kafka_env(
        settings, settings.topics.organization_events, f"ostock.{spec.service}.{instance}"
    )
    return spec, OrganizationService(env=env, codec=codec)


def _licensing(
    settings: Settings, instance: str, codec: Codec
) -> tuple[HandlerSpec, CommandApplication]:
    topics = settings.topics
    # The directory reads partition p of the organization events and commands.
    spec = HandlerSpec(
        LicensingService.name,
        topics.license_commands,
        LicensingService.commands,
        (topics.license_events, topics.organization_events, topics.organization_commands),
    )
    env = kafka_env(settings, topics.license_events, f"ostock.{spec.service}.{instance}")
    # Its own reader of organization events: assigned partitions, offsets never committed.
    reader = Consumer(consumer_config(settings, f"ostock.{spec.service}.organizations"))
    directory = OrganizationDirectory(
        reader,
        AdminClient(admin_config(settings)),
        topics.organization_events,
        topics.organization_commands,
        handler_group(OrganizationService.name),
        codec,
        settings.kafka_timeout_s,
    )
    return spec, LicensingService(directory, env, codec)


SERVICES: dict[str, ServiceFactory] = {"organization": _organization, "licensing": _licensing}


def run_handler(settings: Settings, service: str, instance: str) -> None:
    """Run one service's command handler in this process until SIGINT or SIGTERM.

    `instance` names this writer: a restarted writer with the same name fences its
    predecessor and aborts the transaction it left open at once.
    """
    serve_metrics(settings.metrics_host, metrics_port(settings, f"{service}-handler"))
    # One codec for commands, events and the directory: it finds in the schema registry
    # the writer schemas of versions published after this process was built.
    tracer = install_tracing(settings, f"{service}-handler")
    lookup = KafkaSchemaLookup(settings)
    codec = Codec(lookup=lookup)
    register(settings, codec.schemas)  # before it writes a record with one of them
    spec, application = SERVICES[service](settings, instance, codec)
    handler = CommandHandler(settings, spec, application, codec, instance, tracer=tracer)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info("%s handler %s consuming %s", service, instance, spec.commands_topic)
    # What exists now lives as long as the process: the garbage collector need not scan
    # it again at every full collection (docs/performance.md, "Garbage collection").
    gc.freeze()
    handler.run(stop)
    application.close()
    lookup.close()
    log.info("%s handler stopped after %d commands", service, handler.handled)
