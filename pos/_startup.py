"""The counter's imports without the cycle collector's full passes (``tui_start_ms``).

Importing Textual, pydantic, httpx and the counter's own modules creates about 100,000 objects
that live as long as the process; the cyclic garbage collector, run every 700 allocations, scans
them again and again while they are made (each pass over the older generations walks all of
them): measured, about a fifth of the CPU of a start, none of it finding garbage. So the imports
run with the collector paused; then what they made is frozen out of its later scans (as the
server does after its own start, ``server.app.tune_gc``) and it runs again as before.

Only the imports are covered: the collector is on again before any of the counter's own work
starts, whether or not the app is then run (tests import the app module and never run it).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def imports_without_gc() -> Iterator[None]:
    """Pause the cycle collector for the block; freeze what it made, then collect as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
