"""python-escpos, imported so that it leaves no temporary folders behind.

Importing ``escpos`` writes a capabilities pickle into a fresh temporary folder unless
``ESCPOS_CAPABILITIES_PICKLE_DIR`` is set; we point it at the user's cache (the Makefile sets its
own for tests) before the first import.
"""

from __future__ import annotations

import os
import pathlib
import tempfile


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


if not os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = _pickle_dir()
else:
    os.makedirs(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"], exist_ok=True)

from escpos.constants import QR_ECLEVEL_M  # noqa: E402  (the environment must be set first)
from escpos.printer import Dummy  # noqa: E402

__all__ = ["QR_ECLEVEL_M", "Dummy"]
