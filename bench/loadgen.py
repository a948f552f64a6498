"""An open-loop HTTP/1.1 load generator on raw asyncio streams.

Why not httpx: at 200 req/s its per-request CPU cost is a visible share of this 2-core machine,
and a load generator that competes with the server it measures inflates the figures. This sends
pre-built requests over a pool of keep-alive connections at fixed *scheduled* times and measures
latency from the schedule, so a server that falls behind shows its queueing (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def open_loop(base: str, path: str, body: bytes, headers: dict[str, str], rate: float, seconds: float,
                    connections: int = 64, warmup: float = 1.0) -> LoadResult:
    """Send at ``rate`` for ``warmup + seconds``; only requests scheduled after the warm-up count.

    The warm-up runs on the same keep-alive connections as the measurement, so neither the
    generator's connection set-up nor the server's first request on each connection is measured
    as request latency (they showed as a 100-170 ms burst in the first 0.1 s otherwise).
    """
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    result = LoadResult()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    skip = int(rate * warmup)
    total = skip + int(rate * seconds)

    async def one(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        reader, writer = await pool.get()
        try:
            writer.write(request)
            status = await _read_response(reader)
        finally:
            pool.put_nowait((reader, writer))
        if i >= skip:
            result.latencies.append(loop.time() - scheduled)
            result.statuses[status] = result.statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i) for i in range(total)))
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return result
