"""Ports for local services."""

import socket


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
    """The first of `count` consecutive ports on 127.0.0.1 that nothing listens on right
    now (the workers' /metrics ports of a test, from metrics_port_base)."""
    while True:
        first = free_port()
        if first + count <= 65535 and not any(is_listening(first + n) for n in range(count)):
            return first
