"""HTTP load generator, run in its own process: `python -m benchmarks.loadgen URL ...`.

Keep-alive HTTP/1.1 GETs over raw asyncio streams (a client library would be the
bottleneck), a fixed number of concurrent clients, bounded in time and in count. Prints
one JSON object: requests, errors, seconds, requests_per_s, p50_ms, p99_ms.
"""

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

import uvloop


async def _client(
    host: str, port: int, request: bytes, until: float, budget: list[int], out: list[float]
) -> int:
    """One connection sending requests back to back; returns its count of non-200 answers."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while time.perf_counter() < until and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            out.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
    finally:
        writer.close()
    return errors


async def load(
    url: str, clients: int, seconds: float, max_requests: int, token: str
) -> dict[str, float]:
    """Run the load and summarize it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n".encode()
    latencies: list[float] = []
    budget = [max_requests]
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(
            _client(host, port, request, started + seconds, budget, latencies)
            for _ in range(clients)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "errors": sum(errors),
        "seconds": elapsed,
        "requests_per_s": count / elapsed,
        "p50_ms": latencies[count // 2] * 1000 if count else 0.0,
        "p99_ms": latencies[min(count - 1, int(count * 0.99))] * 1000 if count else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    result = uvloop.run(load(args.url, args.clients, args.seconds, args.max_requests, args.token))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
