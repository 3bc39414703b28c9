"""The ACL tables say what docs/architecture.md ("Topics") says, before any broker
enforces them."""

from confluent_kafka.admin import AclOperation, ResourceType  # type: ignore[attr-defined]

from ostock.infra.acls import SUPER_USERS, grants, principals
from ostock.infra.redis_users import aclfile, rules
from ostock.settings import Settings


def writable_topics(principal: str) -> set[str]:
    return {
        grant.name
        for grant in grants(Settings())[principal]
        if grant.resource == ResourceType.TOPIC and AclOperation.WRITE in grant.operations
    }


def test_each_principal_writes_only_its_topics() -> None:
    topics = Settings().topics

    # Every writer registers the schemas it writes with (ostock.kafka.schema_registry).
    assert writable_topics("api") == {
        topics.organization_commands,
        topics.license_commands,
        topics.schemas,
    }
    # A service forwards a command to its organization's partition (docs/architecture.md).
    assert writable_topics("organization-service") == {
        topics.organization_commands,
        topics.organization_events,
        topics.command_results,
        topics.dead_letters,
        topics.schemas,
    }
    assert writable_topics("projector") == {topics.dead_letters}
    assert writable_topics("saga") == {topics.license_commands, topics.dead_letters, topics.schemas}


def test_every_principal_that_decodes_reads_the_schema_registry() -> None:
    settings = Settings()

    for principal, table in grants(settings).items():
        if principal == "lag-exporter":  # it reads offsets and timestamps, never a body
            continue
        reads = {
            grant.name
            for grant in table
            if grant.resource == ResourceType.TOPIC and AclOperation.READ in grant.operations
        }
        assert settings.topics.schemas in reads, principal


def test_only_the_node_and_the_admin_are_super_users() -> None:
    assert principals(Settings())[: len(SUPER_USERS)] == ("broker", "admin")
    assert not set(SUPER_USERS) & set(grants(Settings()))


def test_redis_disables_the_default_user_and_lets_the_api_read_only() -> None:
    text = aclfile({name: "pw" for name in ("admin", *rules("p"))}, "p")

    assert text.splitlines()[0] == "user default off"
    api = rules("p")["api"]
    # Views in any generation, and which generation is live.
    assert "-@all" in api and "%R~p:*:org:*" in api and "%R~p:generations" in api
    assert "&p:*:org:*" in api  # each view's channel, for read-your-writes
    assert "+fcall" not in api and "+hset" not in api
