"""The process table: each process's consumer group is the one the process joins."""

from ostock.deployables import PROCESSES, consumer_group, handler_group, stream_group
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
