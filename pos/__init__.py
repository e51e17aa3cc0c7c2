"""The counter terminal.

Pydantic looks for plugins in every installed distribution's entry points when it builds its
first model, a scan of the whole environment at each start (``tui_start_ms``); the terminal uses
none, so it says so unless the environment already chose.

Told so, pydantic's plugin loader returns no plugins without looking, yet importing the loader
still imports :mod:`importlib.metadata` (and email, zipfile and csv with it: about 10 ms of a
start, none of it used). While plugins are off, the loader is a module whose ``get_plugins``
answers what pydantic's own would: none.
"""

import os
import sys
import types

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

if os.environ["PYDANTIC_DISABLE_PLUGINS"] in ("__all__", "1", "true") and "pydantic" not in sys.modules:
    _loader = types.ModuleType("pydantic.plugin._loader", "pydantic's plugin loader, plugins off (pos).")
    _loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules["pydantic.plugin._loader"] = _loader
