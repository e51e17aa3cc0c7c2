"""The counter terminal.

Pydantic looks for plugins in every installed distribution's entry points when it builds its
first model, a scan of the whole environment at each start (``tui_start_ms``); the terminal uses
none, so it says so unless the environment already chose.
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
