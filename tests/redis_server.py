"""A Redis server of the test's own, on a free loopback port in a temporary folder, stopped after: tests that
need a queue share no Redis with anyone (no FLUSHALL on a shared server, no keys left behind).

    redis_server(folder)  a context yielding the URL of a fresh Redis (database 0), stopped on leaving
    RedisServer(folder)   the same, to stop, kill and start again on the same port (tests/faults/)

Nothing is persisted: a Redis started again is empty, as one restarted without a dump would be."""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis


def free_port() -> int:
    """A TCP port free on the loopback now (the caller binds it soon after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1:`port` (a free one unless given), without persistence, in `folder`."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs redis-server on PATH (apt-get install redis-server) for a Redis of the test's own")
        self.binary, self.folder = binary, folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self, within: float = 10) -> RedisServer:
        """Start it (again, empty, on the same port) and wait until it answers a PING."""
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--dir", str(self.folder), "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url(), socket_connect_timeout=1)
        try:
            waited_until = time.monotonic() + within
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if self.process.poll() is not None:
                        pytest.skip(f"redis-server exited at once (status {self.process.returncode})")
                    if time.monotonic() > waited_until:
                        self.kill()
                        pytest.skip(f"redis-server on port {self.port} did not answer within {within:g} s")
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self, how: signal.Signals = signal.SIGTERM, within: float = 10) -> None:
        """End it with `how` (SIGTERM: a clean shutdown; SIGKILL: gone at once), killing it if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(within)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(within)
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """The URL of a fresh Redis (database 0); skips the test, saying why, when redis-server is missing or
    does not start."""
    server = RedisServer(folder)
    try:
        server.start()
        yield server.url()
    finally:
        server.stop()
