"""httpx, imported without its command line.

``import httpx`` also imports httpx's own command line (``httpx._main``), and with it click,
pygments and rich's progress bars: about 20 ms of the counter's start (``tui_start_ms``) for a tool
this process never runs. An import that cannot be made gives httpx its stub ``httpx.main`` instead
(which says the command line is not installed). Once httpx is loaded this changes nothing.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

__all__ = ["httpx"]
