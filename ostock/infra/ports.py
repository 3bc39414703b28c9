"""Ports for local services."""

import random
import socket

#: Where blocks of ports are taken: above the well-known services, below the ephemeral
#: range of outgoing connections.
BLOCKS_FROM, EPHEMERAL_FROM = 10000, 32768


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The OS picks it; another process may still take it before we bind, which is
    rare enough for tests and local runs.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port_block(count: int) -> int:
    """Return the first of `count` consecutive TCP ports on 127.0.0.1 that nothing listens
    on right now (the workers' /metrics ports, settings.metrics_port_base onwards).

    The block lies below the ephemeral range (Linux's starts at 32768): there the source
    port of an outgoing connection, which any client may take any time, would take a
    port of the block before its worker binds it.
    """
    while True:
        first = random.randrange(BLOCKS_FROM, EPHEMERAL_FROM - count)
        if not any(is_listening(port) for port in range(first, first + count)):
            return first
