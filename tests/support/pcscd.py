"""pcscd with the vpcd virtual reader for tests, started once per session under a machine-wide lock.

Only one pcscd can run on a machine and several people's tests may run at once, so whoever uses
pcscd holds an exclusive ``flock`` on ``/tmp/mykey-pcscd.lock`` the whole time. Readiness is
checked without connecting to vpcd's ports (a connection *is* a card): the socket file exists
and ``ss`` shows both ports listening. A pcscd found running that we did not start is reused
as it is (we never end other people's processes), but then cannot be restarted by a test.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pathlib
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest

LOCK_PATH = "/tmp/mykey-pcscd.lock"
PCSCD = "/usr/sbin/pcscd"
COMM = pathlib.Path("/run/pcscd/pcscd.comm")
VPCD_PORTS = (35963, 35964)
VPCD_READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")


def pcscd_pids() -> list[int]:
    """Live (not zombie) processes named ``pcscd``."""
    pids = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state = stat[stat.rindex(")") + 2 :].split()[0]
        if name == "pcscd" and state != "Z":
            pids.append(int(proc.name))
    return pids


def port_listening(port: int) -> bool:
    """Whether something listens on TCP ``port`` (asks ``ss``: connecting would insert a card)."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    return "LISTEN" in out


def ready() -> bool:
    """pcscd answers PC/SC and vpcd listens on both slots."""
    return COMM.exists() and all(port_listening(p) for p in VPCD_PORTS)


class PcscdLock:
    """The machine-wide exclusive lock every pcscd user holds."""

    def __init__(self, path: str = LOCK_PATH) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, timeout: float = 600.0) -> None:
        """Wait (up to ``timeout`` s) until no one else holds the lock, then hold it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise TimeoutError(f"{self.path} held by someone else for {timeout:.0f} s") from None
                time.sleep(0.2)

    def release(self) -> None:
        """Let the next user in."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _die_with_parent() -> None:
    # In the child before exec: if the test process is killed (a timeout, kill -9) its pcscd
    # goes too, instead of staying behind, orphaned, for the next user of the lock.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Pcscd:
    """pcscd in the foreground (``pcscd -f -i``), started, stopped and restarted by tests.

    Call only while holding :class:`PcscdLock`.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.foreign_pid: int | None = None
        self.log = pathlib.Path(tempfile.gettempdir()) / f"mykey-pcscd-{os.getpid()}.log"

    @property
    def owned(self) -> bool:
        """Whether we started the pcscd that runs (and so may stop it)."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start pcscd, or reuse one already running that someone else left; wait until ready."""
        if self.owned:
            return
        others = self._wait_for_others_to_exit(5.0)
        if others:
            self.foreign_pid = others[0]
            try:
                self.wait_ready(timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"pcscd pid {others[0]}, not started by these tests, runs without the vpcd readers"
                ) from None
            return
        self.foreign_pid = None
        # vpcd cannot listen while its ports are still held (by a pcscd just gone, or sockets in
        # TIME_WAIT): then pcscd comes up without readers. Stop that one and try again.
        deadline = time.monotonic() + max(timeout, 70.0)
        while True:
            with open(self.log, "ab") as log:
                command = [PCSCD, "-f", "-i"]
                self.proc = subprocess.Popen(
                    command, stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_parent
                )
            try:
                self.wait_ready(min(timeout, 3.0))  # ~60 ms when it works
                return
            except (TimeoutError, RuntimeError):
                self.stop()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1.0)

    def _wait_for_others_to_exit(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while (others := pcscd_pids()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return others

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until pcscd serves PC/SC and vpcd listens."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pcscd exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"pcscd not ready after {timeout} s; see {self.log}")
            time.sleep(0.01)

    def stop(self) -> None:
        """TERM our pcscd and reap it; wait until its socket and ports are gone."""
        if self.foreign_pid is not None and self.proc is None:
            raise RuntimeError(f"pcscd pid {self.foreign_pid} is not ours: not stopping it")
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        deadline = time.monotonic() + 5
        while (COMM.exists() or any(port_listening(p) for p in VPCD_PORTS)) and time.monotonic() < deadline:
            time.sleep(0.01)

    def restart(self) -> None:
        """Stop and start again (what a test of pcscd going away does)."""
        self.stop()
        self.start()


def wait_empty(readers: tuple[str, ...] = VPCD_READERS, timeout: float = 5.0) -> None:
    """Wait until every reader reports EMPTY, so the next card does not inherit the last one's state."""
    from smartcard import scard  # type: ignore[import-untyped]

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise RuntimeError(f"no PC/SC context: {hresult:#x}")
    try:
        deadline = time.monotonic() + timeout
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in readers]
        while True:
            hresult, new = scard.SCardGetStatusChange(ctx, 100, states)
            if hresult == scard.SCARD_S_SUCCESS:
                if all(state & scard.SCARD_STATE_EMPTY for _name, state, _atr in new):
                    return
                states = [(name, state & ~scard.SCARD_STATE_CHANGED) for name, state, _atr in new]
            elif hresult != scard.SCARD_E_TIMEOUT:
                raise RuntimeError(f"SCardGetStatusChange: {hresult:#x}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"readers not empty after {timeout} s: {new}")
    finally:
        scard.SCardReleaseContext(ctx)


# One pcscd per test process, shared by every fixture that asks for it (counted), so that two
# conftests or modules using it at once never take the lock twice.
_shared_lock = threading.Lock()
_shared: tuple[PcscdLock, Pcscd] | None = None
_users = 0


def shared_pcscd() -> Pcscd:
    """Take the machine lock and start pcscd (once per process); pair with :func:`release_shared`."""
    global _shared, _users
    with _shared_lock:
        if _shared is None:
            lock = PcscdLock()
            lock.acquire()
            daemon = Pcscd()
            try:
                daemon.start()
            except BaseException:
                lock.release()
                raise
            _shared = (lock, daemon)
        _users += 1
        _shared[1].start()  # a test may have left it stopped
        return _shared[1]


def release_shared() -> None:
    """When the last user lets go: stop our pcscd and release the machine lock."""
    global _shared, _users
    with _shared_lock:
        _users = max(0, _users - 1)
        if _shared is None or _users:
            return
        lock, daemon = _shared
        _shared = None
        try:
            if daemon.proc is not None:
                daemon.stop()
        finally:
            lock.release()


@pytest.fixture(scope="module")
def pcscd() -> Iterator[Pcscd]:
    """pcscd + vpcd under the machine lock, reused by the tests of a module.

    Module scope, not session: starting pcscd takes ~60 ms, and other people's card tests need
    the lock back while the rest of a long test session runs.
    """
    daemon = shared_pcscd()
    try:
        yield daemon
    finally:
        release_shared()


@pytest.fixture
def empty_readers(pcscd: Pcscd) -> Iterator[None]:
    """pcscd running and both vpcd slots EMPTY before and after the test."""
    pcscd.start()  # a test that stopped pcscd and then failed must not take the next ones with it
    wait_empty()
    yield
    if ready():
        wait_empty()
