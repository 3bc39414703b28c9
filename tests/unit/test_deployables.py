"""The process table: each process's consumer group is the one the process joins."""

import socket

from ostock.deployables import (
    PROCESSES,
    SINGLE,
    consumer_group,
    handler_group,
    instance_env,
    instance_name,
    instances,
    metrics_port,
    stream_group,
)
from ostock.handlers.licensing import LicensingService
from ostock.handlers.organization import OrganizationService
from ostock.settings import Settings
from streams.worker import PROJECTORS


def test_each_handler_process_is_in_its_services_group() -> None:
    settings = Settings()
    assert consumer_group(settings, "organization-handler") == handler_group(
        OrganizationService.name
    )
    assert consumer_group(settings, "licensing-handler") == handler_group(LicensingService.name)


def test_each_stream_process_is_in_its_processors_group_and_the_rest_in_none() -> None:
    settings = Settings(redis_prefix="p")
    for name, args in PROCESSES.items():
        if args[:2] == ["worker", "projector"]:
            assert args[2] in PROJECTORS
            assert consumer_group(settings, name) == stream_group(settings, args[2])
        elif args[:2] != ["worker", "handler"]:
            assert consumer_group(settings, name) is None


def test_every_copy_of_a_scaled_worker_has_its_own_instance_name_and_metrics_port() -> None:
    settings = Settings(instance="host", metrics_port_base=20000, api_port=8000)
    scaled = instances(3)
    copies = [i for i in scaled if i.copy > 1]

    assert {i.process for i in scaled} == set(PROCESSES)
    assert {i.process for i in copies} == set(PROCESSES) - SINGLE
    assert len(copies) == 2 * (len(PROCESSES) - len(SINGLE))
    ports = [metrics_port(settings, i.process, i.copy) for i in scaled]
    assert len(set(ports)) == len(ports)
    assert len({i.label for i in scaled}) == len(scaled)
    names = {instance_env(settings, i).get("OSTOCK_INSTANCE", "host") for i in scaled}
    assert names == {"host", "host-2", "host-3"}


def test_the_instance_name_is_the_hosts_unless_set() -> None:
    assert instance_name(Settings()) == socket.gethostname()
    assert instance_name(Settings(instance="pod-a"), copy=2) == "pod-a-2"
