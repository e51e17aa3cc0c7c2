"""Throwaway PostgreSQL clusters for tests: one on loopback, or a primary with a synchronous standby.

Usage::

    from tests.support.postgres import Cluster, create_database, primary_with_standby

    with Cluster.throwaway() as pg:            # initdb + pg_ctl start in a temporary folder
        url = create_database(pg.url, "t1")     # CREATE DATABASE t1 TEMPLATE template1
    with primary_with_standby() as (primary, standby):
        primary.kill()                          # SIGKILL of the postmaster, as a power cut would
        standby.promote()

PostgreSQL refuses to run as root, so when the tests run as root every ``initdb``/``pg_ctl``
runs as the ``postgres`` user (``runuser -u postgres --``) on a folder that user owns; otherwise
as the current user. The cluster listens on 127.0.0.1 only, on a free port, with its Unix socket
in its own folder (never ``/var/run/postgresql``), ``fsync`` and ``synchronous_commit`` on, and
trust authentication (loopback, a test's own cluster). Stopping is ``pg_ctl stop -m immediate``
and the folder is removed, also when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

#: Where Debian puts each major version's binaries; the newest installed one is used.
DEBIAN_BIN = pathlib.Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
START_SECONDS = 30


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here (install Debian's ``postgresql``, as ``make test`` does)."""


#: Set by ``make test``, which installs PostgreSQL: there a missing cluster is a failure, not a skip.
REQUIRE_ENV = "MYKEY_REQUIRE_PG"


def missing(reason: str) -> NoReturn:
    """Leave a PostgreSQL test out, saying why; under ``make test`` (``$MYKEY_REQUIRE_PG``) fail it."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"PostgreSQL is required here ({REQUIRE_ENV}) but: {reason}", pytrace=False)
    pytest.skip(reason)


def bin_dir() -> pathlib.Path:
    """The folder holding ``initdb``, ``pg_ctl``, ``pg_basebackup`` (``$MYKEY_PG_BIN`` wins).

    Raises:
        PostgresUnavailable: no PostgreSQL server binaries are installed.
    """
    if os.environ.get("MYKEY_PG_BIN"):
        return pathlib.Path(os.environ["MYKEY_PG_BIN"])
    versions = sorted(
        (p for p in DEBIAN_BIN.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    found = shutil.which("initdb")
    if found:
        return pathlib.Path(found).parent
    raise PostgresUnavailable("no initdb: install Debian's postgresql (apt-get install postgresql)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> str | None:
    """The user PostgreSQL runs as: ``postgres`` when we are root, else ourselves (``None``)."""
    return SUPERUSER if os.geteuid() == 0 else None


def _command(user: str | None, *argv: str | os.PathLike[str]) -> list[str]:
    args = [str(a) for a in argv]
    return ["runuser", "-u", user, "--", *args] if user else args


def _owned_temp_dir(user: str | None) -> pathlib.Path:
    # Not pytest's tmp_path: /tmp/pytest-of-root is 0700, so the postgres user could not enter it.
    folder = pathlib.Path(tempfile.mkdtemp(prefix="mykey-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder


def with_database(url: str, name: str) -> str:
    """``url`` naming database ``name`` instead (query string such as ``target_session_attrs`` kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@dataclass
class Cluster:
    """One PostgreSQL cluster (a data folder and its postmaster) run by the tests.

    Attributes:
        folder: the temporary folder (data in ``folder/data``, socket and log beside it).
        port: its TCP port on 127.0.0.1.
        user: the operating-system user that runs it (``None``: the current user).
        name: its ``cluster_name`` (a standby's is also its ``application_name`` on the primary).
    """

    folder: pathlib.Path
    port: int
    user: str | None
    name: str = "primary"
    bin: pathlib.Path = field(default_factory=bin_dir)
    started_seconds: float = 0.0

    @property
    def data(self) -> pathlib.Path:
        """The data directory (``PGDATA``)."""
        return self.folder / self.name

    @property
    def log(self) -> pathlib.Path:
        """The server's log file (read it when a test fails)."""
        return self.folder / f"{self.name}.log"

    @property
    def url(self) -> str:
        """A libpq URL of the superuser on the ``postgres`` database."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    # Life cycle --------------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def throwaway(cls, settings: dict[str, str] | None = None) -> Iterator[Cluster]:
        """A new cluster in a temporary folder, started; stopped and removed when the block ends."""
        user = _run_as()
        folder = _owned_temp_dir(user)
        cluster = cls(folder, free_port(), user)
        try:
            cluster.initdb(settings or {})
            cluster.start()
            yield cluster
        finally:
            cluster.destroy()

    def _pg(self, tool: str, *args: str | os.PathLike[str], check: bool = True) -> str:
        result = subprocess.run(
            _command(self.user, self.bin / tool, *args), capture_output=True, text=True, cwd=self.folder
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{self._tail()}"
            )
        return result.stdout

    def _tail(self) -> str:
        try:
            return "log: " + self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def initdb(self, settings: dict[str, str]) -> None:
        """``initdb`` (C locale, UTF-8, trust on loopback) and the test settings appended to its config.

        Its files are flushed (no ``--no-sync``): skipping the flush saved under 0.1 s here.
        """
        self._pg(
            "initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C",
            "--no-instructions",
        )  # fmt: skip
        self.configure(
            {
                "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{self.folder}'",
                "fsync": "on",
                "synchronous_commit": "on",
                "full_page_writes": "on",
                "wal_level": "replica",
                "max_wal_senders": "5",
                "max_connections": "100",
                "shared_buffers": "32MB",
                "log_min_messages": "warning",
                **settings,
            }
        )

    def configure(self, settings: dict[str, str]) -> None:
        """Append ``settings`` to ``postgresql.conf`` (the last line for a name wins); port and name too."""
        lines = [f"{key} = {value}" for key, value in {**settings, "port": str(self.port)}.items()]
        lines.append(f"cluster_name = '{self.name}'")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# mykey-pos tests\n" + "\n".join(lines) + "\n")

    def start(self) -> None:
        """``pg_ctl start`` and wait until it accepts connections; records how long that took."""
        began = time.monotonic()
        self._pg("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", str(START_SECONDS))
        self.started_seconds = time.monotonic() - began

    def postmaster_pid(self) -> int | None:
        """The postmaster's process id (``postmaster.pid``), or ``None`` when it is not running."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def kill(self) -> None:
        """SIGKILL the postmaster (a power cut of the primary); its backends die on their own.

        The backends are noted first, by id, and killed too if they outlive their postmaster
        for more than a few seconds (an orphan would keep the shared memory). :meth:`start`
        may follow: crash recovery replays the WAL.
        """
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = _children(pid)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(child) for child in children):
            time.sleep(0.05)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.01)
        if not _alive(pid):
            # Dead, but maybe not yet reaped (a zombie whose parent, PID 1 here, reaps late): a
            # restart would take its lock files for a live postmaster's and refuse to start.
            (self.data / "postmaster.pid").unlink(missing_ok=True)
            (self.folder / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    def promote(self) -> float:
        """``pg_ctl promote -w``: a standby becomes a primary. Returns the seconds it took."""
        began = time.monotonic()
        self._pg("pg_ctl", "promote", "-D", self.data, "-w", "-t", str(START_SECONDS))
        return time.monotonic() - began

    def stop(self) -> None:
        """``pg_ctl stop -m immediate`` (no checkpoint: the folder is thrown away next)."""
        if self.postmaster_pid() is not None:
            self._pg("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", check=False)
        self.kill()

    def destroy(self) -> None:
        """Stop the cluster and remove its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # Replication -------------------------------------------------------------------------

    def base_backup_standby(self, name: str = "standby1") -> Cluster:
        """A standby of this cluster: ``pg_basebackup -R`` into the same folder, on its own port.

        Its ``cluster_name`` becomes its ``application_name`` on the primary, the name
        ``synchronous_standby_names`` lists. Not started: call :meth:`start`.
        """
        standby = Cluster(self.folder, free_port(), self.user, name=name, bin=self.bin)
        self._pg(
            "pg_basebackup", "-D", standby.data, "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
            "-R", "-X", "stream", "--checkpoint=fast",
        )  # fmt: skip
        # The copy carries the primary's settings; the last lines (port, name) override them.
        standby.configure({"hot_standby": "on"})
        return standby


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (a postmaster's backends and auxiliary processes)."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing paren.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.contextmanager
def primary_with_standby(
    standby_name: str = "standby1", settings: dict[str, str] | None = None
) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary and a synchronous standby streaming from it, both on loopback; removed after.

    The primary commits only once the standby has flushed the commit's WAL
    (``synchronous_standby_names`` names the standby, ``synchronous_commit = on``), so a COMMIT
    the primary acknowledged is on the standby when the primary dies. Returns once the standby
    is streaming and reported as ``sync`` by ``pg_stat_replication``.
    """
    with Cluster.throwaway(settings) as primary:
        standby = primary.base_backup_standby(standby_name)
        try:
            standby.start()
            primary.configure({"synchronous_standby_names": f"'FIRST 1 ({standby_name})'"})
            primary._pg("pg_ctl", "reload", "-D", primary.data)
            wait_for_sync_standby(primary.url, standby_name)
            yield primary, standby
        finally:
            standby.stop()


def wait_for_sync_standby(url: str, name: str, timeout: float = START_SECONDS) -> None:
    """Wait until ``pg_stat_replication`` shows ``name`` streaming as the synchronous standby."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s", (name,)
            ).fetchone()
        if row == ("streaming", "sync"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"standby {name} is not a streaming synchronous standby: {row}")
        time.sleep(0.05)


def create_database(url: str, name: str, template: str = "template1") -> str:
    """``CREATE DATABASE name TEMPLATE template`` on the server of ``url``; returns the new one's URL.

    Cloning a template that already holds a migrated schema is how a test gets a fresh database
    quickly (``STRATEGY FILE_COPY`` copies the folder rather than WAL-logging every page, which is
    faster for small databases).
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    """``DROP DATABASE IF EXISTS name WITH (FORCE)`` (its sessions are ended first)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def multi_host_url(clusters: Sequence[Cluster], database: str = "postgres") -> str:
    """``postgresql://postgres@h1:p1,h2:p2/db?target_session_attrs=read-write`` for ``clusters``."""
    hosts = ",".join(f"127.0.0.1:{c.port}" for c in clusters)
    return f"postgresql://{SUPERUSER}@{hosts}/{database}?target_session_attrs=read-write&connect_timeout=2"
