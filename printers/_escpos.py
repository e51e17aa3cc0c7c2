"""python-escpos, imported so that it leaves no temporary folders behind.

Importing ``escpos`` writes a capabilities pickle into ``ESCPOS_CAPABILITIES_PICKLE_DIR``; we
point it at the user's cache when unset (the Makefile sets its own for tests). python-escpos 3.1
also calls ``mkdtemp()`` as the *default* of that lookup, so it makes an empty temporary folder
on every import even when the variable is set; while it is imported, ``mkdtemp`` hands back the
pickle folder instead.
"""

from __future__ import annotations

import importlib.resources
import os
import pathlib
import pickle
import platform
import tempfile

import yaml


def _pickle_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    for candidate in (pathlib.Path(cache) / "mykey-pos" / "escpos",
                      pathlib.Path(tempfile.gettempdir()) / f"mykey-pos-escpos-{os.getuid()}"):  # fmt: skip
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return str(candidate)
    raise OSError("no writable folder for the escpos capabilities cache")


def _write_pickle(pickle_dir: str) -> None:
    """Write python-escpos's capabilities pickle whole, by rename, before it looks for one.

    python-escpos writes the pickle in place (``open(path, "wb")``) when it finds none, and
    another process importing it at that moment reads a half-written file and dies with
    ``EOFError`` (four terminals starting together on one machine did). Written here by rename,
    a reader sees either no file or a whole one, and python-escpos only ever reads it.
    """
    if os.environ.get("ESCPOS_CAPABILITIES_FILE"):
        return  # someone chose their own capabilities file: python-escpos handles it
    source = importlib.resources.files("escpos") / "capabilities.json"
    target = pathlib.Path(pickle_dir) / f"{platform.python_version()}.capabilities.pickle"
    with importlib.resources.as_file(source) as path:
        if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
            return
        capabilities = yaml.safe_load(path.read_text(encoding="utf-8"))
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_bytes(pickle.dumps(capabilities, protocol=2))
    os.replace(partial, target)


def _import_escpos() -> None:
    if not os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = _pickle_dir()
    pickle_dir = os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]
    os.makedirs(pickle_dir, exist_ok=True)
    _write_pickle(pickle_dir)
    real_mkdtemp = tempfile.mkdtemp
    tempfile.mkdtemp = lambda *args, **kwargs: pickle_dir  # type: ignore[assignment]
    try:
        import escpos.capabilities  # type: ignore[import-untyped]  # noqa: F401  (it calls mkdtemp)
    finally:
        tempfile.mkdtemp = real_mkdtemp


_import_escpos()

from escpos.constants import QR_ECLEVEL_M  # type: ignore[import-untyped]  # noqa: E402
from escpos.printer import Dummy  # type: ignore[import-untyped]  # noqa: E402

__all__ = ["QR_ECLEVEL_M", "Dummy"]
