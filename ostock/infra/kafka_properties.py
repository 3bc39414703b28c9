"""The configuration files of a local Kafka node, written at every start (pure text)."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Quorum:
    """The KRaft cluster a node belongs to: every node's id and controller port, and how
    many replicas its topics keep and a write needs (acks=all)."""

    voters: Mapping[int, int]
    replication_factor: int = 1
    min_insync_replicas: int = 1

    @property
    def voters_line(self) -> str:
        """controller.quorum.voters: id@host:port of every node."""
        return ",".join(f"{node}@127.0.0.1:{port}" for node, port in sorted(self.voters.items()))


def server_properties(
    node_id: int, port: int, quorum: Quorum, data: Path, scram_users: Mapping[str, str] | None
) -> str:
    """A KRaft node that is broker and controller of `quorum`; SCRAM and ACLs when
    `scram_users` holds the node's and the admin's passwords."""
    listener = "PLAINTEXT" if scram_users is None else "SASL_PLAINTEXT"
    controller_port = quorum.voters[node_id]
    factor, min_isr = quorum.replication_factor, quorum.min_insync_replicas
    return f"""\
# Written by ostock.infra.kafka on every start; edit the code, not this file.
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={quorum.voters_line}
controller.listener.names=CONTROLLER
listeners={listener}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners={listener}://127.0.0.1:{port}
inter.broker.listener.name={listener}
{security_properties(scram_users)}
log.dirs={data}
num.partitions=1
auto.create.topics.enable=false
# Internal topics are replicated as O-stock's own (settings.replication_factor), and a
# replica that missed writes never becomes leader: that would drop acknowledged records.
unclean.leader.election.enable=false
default.replication.factor={factor}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={factor}
transaction.state.log.replication.factor={factor}
transaction.state.log.min.isr={min_isr}
share.coordinator.state.topic.replication.factor={factor}
share.coordinator.state.topic.min.isr={min_isr}
# Consumers join at once instead of waiting for more members (faster tests).
group.initial.rebalance.delay.ms=0
# Internal topics are created on first use: with fewer partitions than the default
# the first transactional producer is ready sooner, and one node gains nothing from more.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
"""


def security_properties(scram_users: Mapping[str, str] | None) -> str:
    """The listeners' security: plaintext, or SCRAM logins with ACLs."""
    if scram_users is None:
        return "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    # Clients log in with SCRAM (credentials in the metadata log, added at format
    # time); the controller listener uses PLAIN with the node's own user, since
    # KRaft controllers cannot check SCRAM. Only the node and the admin are super.
    password = scram_users["broker"]
    return f"""\
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required \
username="broker" password="{password}";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=\
org.apache.kafka.common.security.plain.PlainLoginModule required \
username="broker" password="{password}" user_broker="{password}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:admin"""


def log4j_properties(log: Path) -> str:
    """The broker's log: a file rolled at 20 MB, three kept."""
    return f"""\
# Written by ostock.infra.kafka on every start.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
"""
