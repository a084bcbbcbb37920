"""Servers of a test's own, for tests that stop, kill and restart them (tests/faults/): each starts in a
temporary folder on a free loopback port, waits until it answers (a bounded wait), and can be stopped
cleanly, killed, or started again on the same port.

    PostgresServer(folder)          initdb + postgres (PostgreSQL's own binaries; as the `postgres` OS user
                                    when the tests run as root, which initdb refuses)
    RedisServer(folder)             redis-server, no persistence (tests/redis_server.py)
    Gunicorn(folder, environment)   gunicorn -c deploy/gunicorn.conf.py: the app as deployed
    SwarmWorker(folder, environment) `swarm worker`: RQ clearing jobs, with its sweeper

Each skips the test, saying why, when its program is missing. Every process is started here as a child of
the test's process, and stopping one also kills what it started and left behind (gunicorn's workers, a
work horse and its CBC): `running()` wraps a server so that nothing outlives the test, even a failed one.
"""
from __future__ import annotations

import glob
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import psutil
import pytest

from tests.paths import ROOT
from tests.redis_server import RedisServer, free_port

__all__ = ["Gunicorn", "PostgresServer", "RedisServer", "SwarmWorker", "free_port", "postgres_folder", "running",
           "wait_until"]

GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
T = TypeVar("T")


def wait_until(check: Callable[[], T], within: float, what: str, every: float = 0.1,
               alive: Callable[[], str | None] | None = None) -> T:
    """The first truthy value of `check()` within `within` seconds, else an AssertionError saying `what`
    was awaited; `alive()` returns why waiting is pointless (a process that died), if it is."""
    waited_until = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        dead = alive() if alive is not None else None
        if dead:
            raise AssertionError(f"{what}: {dead}")
        if time.monotonic() > waited_until:
            raise AssertionError(f"{what}: not within {within:g} s")
        time.sleep(every)


def end_tree(process: subprocess.Popen[Any] | None, how: signal.Signals = signal.SIGTERM,
             within: float = 15) -> None:
    """Send `how` to `process`, wait up to `within` seconds for it, then kill it and everything it started
    that is still running (its children, theirs, ...), and reap them."""
    if process is None:
        return
    try:
        under = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        under = []
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(within)
    # anything still alive now was left behind (a work horse, a CBC, a gunicorn worker): kill it
    left = []
    for child in under:
        try:
            child.kill()
            left.append(child)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(left, timeout=within)


def exited(process: subprocess.Popen[Any] | None, log: Path) -> str | None:
    """Why waiting for `process` is pointless: it exited (with the end of its log), or None."""
    if process is not None and process.poll() is not None:
        return f"it exited (status {process.returncode}): {log.read_text(errors='replace')[-1500:]}"
    return None


class Server(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


@contextmanager
def running(server: S) -> Iterator[S]:
    """`server`, stopped (with all it started) when the block ends, however it ends."""
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- PostgreSQL

def postgres_binaries() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, postgres): beside pg_ctl on PATH when the postgres
    program is there too, else the newest Debian install (/usr/lib/postgresql/N/bin)."""
    pg_ctl = shutil.which("pg_ctl")
    candidates = [Path(os.path.realpath(pg_ctl)).parent] if pg_ctl else []
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def _server_user() -> str | None:
    """Who runs PostgreSQL's programs: `postgres` when the tests run as root (initdb and postgres refuse
    root), else the tests' own user (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("the tests run as root and there is no `postgres` OS user to run PostgreSQL as")
    return "postgres"


@contextmanager
def postgres_folder() -> Iterator[Path]:
    """A new folder the server's user owns, removed afterwards (not under pytest's tmp_path: its parents
    are root's, mode 0700, which the `postgres` user cannot enter)."""
    folder = Path(tempfile.mkdtemp(prefix="swarm-pg-"))
    try:
        user = _server_user()
        if user is not None:
            shutil.chown(folder, user, user)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class PostgresServer:
    """PostgreSQL on 127.0.0.1:`port`, its data and unix socket in `folder` (see postgres_folder), trusting
    local connections as `postgres`. Tuned for tests (no fsync: a killed server loses nothing committed,
    only a machine crash would), never for data anyone keeps."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            pytest.skip("needs PostgreSQL's server programs (initdb, postgres: apt-get install postgresql) for a "
                        "PostgreSQL of the test's own")
        self.binaries, self.folder = binaries, folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = port or free_port()
        self.user = _server_user()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_server_user(self) -> dict[str, Any]:
        return {"user": self.user, "group": self.user} if self.user else {}

    def init(self) -> PostgresServer:
        done = subprocess.run([str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                               "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                              capture_output=True, text=True, timeout=120, cwd=self.folder, **self._as_server_user())
        if done.returncode != 0:
            pytest.skip(f"initdb failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        return self

    def start(self, within: float = 30) -> PostgresServer:
        """Start the server (initdb first, once) and wait until it accepts connections."""
        if not self.data.exists():
            self.init()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binaries / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.folder),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=100", "-c", "shared_buffers=32MB"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, **self._as_server_user())
        wait_until(self.answers, within, f"PostgreSQL on port {self.port} accepting connections",
                   alive=lambda: exited(self.process, self.log))
        return self

    def answers(self) -> bool:
        import psycopg
        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                                 connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self, mode: str = "fast", within: float = 30) -> None:
        """Shut it down: "fast" (pg_ctl stop's default: sessions are ended, their transactions rolled back,
        a clean checkpoint), "immediate" (no checkpoint: a crash as far as the data knows, recovered from the
        WAL at the next start) or "kill" (SIGKILL the postmaster, then its backends)."""
        how = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT,
               "kill": signal.SIGKILL}[mode]
        end_tree(self.process, how, within)
        self.process = None

    def create_database(self, name: str) -> str:
        """A new database; its SQLAlchemy URL."""
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


# ---------------------------------------------------------------- the app and its workers

def app_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a web node or a worker on `database_url`: this process's, without any SWARM_*
    setting of its own, plus `settings` (SWARM_QUEUE_URL=..., ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWARM_")}
    env.update({"PYTHONPATH": str(ROOT), "SWARM_DATABASE_URL": database_url, "SWARM_SECRET_KEY": "s" * 64,
                "SWARM_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"})
    env.update(settings)
    return env


class Gunicorn:
    """The app under gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:`port`, `workers` processes of
    `threads` threads, its log in `folder`/gunicorn.log, started from `folder` (its instance folder)."""

    def __init__(self, folder: Path, environment: dict[str, str], workers: int = 2, threads: int = 4) -> None:
        pytest.importorskip("gunicorn", reason="gunicorn runs the app as deployed: pip install -e '.[test]'")
        self.folder, self.port = folder, free_port()
        self.log = folder / "gunicorn.log"
        self.environment = {**environment, "SWARM_BIND": f"127.0.0.1:{self.port}", "SWARM_WEB_WORKERS": str(workers),
                            "SWARM_WEB_THREADS": str(threads)}
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, within: float = 60) -> Gunicorn:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                                             # gunicorn 27 makes one control socket per user (~/.gunicorn/gunicorn.ctl),
                                             # which a second gunicorn (a test beside this one) would take over
                                             "--no-control-socket"],
                                            cwd=self.folder, env=self.environment, stdout=log,
                                            stderr=subprocess.STDOUT)
        wait_until(self._healthy, within, f"gunicorn answering /healthz on port {self.port}",
                   alive=lambda: exited(self.process, self.log))
        self.wait_workers(within)
        return self

    def _healthy(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def worker_pids(self) -> list[int]:
        """The worker processes serving now (the master's live children)."""
        assert self.process is not None
        pids = []
        for child in psutil.Process(self.process.pid).children():
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    pids.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return sorted(pids)

    def wait_workers(self, within: float = 60) -> list[int]:
        """The workers, once all `workers` of them run (after a kill, the master starts another)."""
        return wait_until(lambda: len(self.worker_pids()) == self.workers and self.worker_pids(), within,
                          f"{self.workers} gunicorn workers", alive=lambda: exited(self.process, self.log))

    def stop(self) -> None:
        """Quick shutdown (SIGINT: workers exit at once), then anything left is killed."""
        end_tree(self.process, signal.SIGINT)
        self.process = None


class SwarmWorker:
    """`swarm worker` (SWARM_QUEUE_URL and SWARM_DATABASE_URL in `environment`), logging to
    `folder`/worker-N.log."""

    count = 0

    def __init__(self, folder: Path, environment: dict[str, str]) -> None:
        SwarmWorker.count += 1
        self.folder, self.environment = folder, environment
        self.log = folder / f"worker-{SwarmWorker.count}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SwarmWorker:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-c", "from web.cli import main; main()", "worker"],
                                            cwd=self.folder, env=self.environment, stdout=log,
                                            stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def listening(self, within: float = 30) -> None:
        """Wait until its RQ worker listens on the queue (its log says so)."""
        wait_until(lambda: "Listening on swarm-clearing" in self.log.read_text(errors="replace"), within,
                   "swarm worker listening on the queue", alive=lambda: exited(self.process, self.log))

    def horse(self, within: float = 60) -> psutil.Process:
        """The work horse running a job now (the worker's forked child)."""
        def found() -> psutil.Process | None:
            for child in psutil.Process(self.pid).children():
                try:
                    if child.status() != psutil.STATUS_ZOMBIE:
                        return child
                except psutil.NoSuchProcess:
                    continue
            return None
        return wait_until(found, within, "a work horse under swarm worker",
                          alive=lambda: exited(self.process, self.log))

    def stop(self) -> None:
        """SIGTERM (RQ's warm shutdown: a job running ends first, for up to 15 s here), then SIGKILL."""
        end_tree(self.process, signal.SIGTERM)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the worker and everything under it at once: a machine lost mid-solve."""
        if self.process is None:
            return
        under = psutil.Process(self.pid).children(recursive=True)
        for process in [psutil.Process(self.pid), *under]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        self.process.wait(15)
        psutil.wait_procs(under, timeout=15)
        self.process = None
