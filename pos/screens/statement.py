"""The merchant's settlement statement (明細) for a closed period, fetched from the server."""

from __future__ import annotations

import json
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from pos.i18n import _, language
from pos.screens.base import PosScreen
from pos.sync import SyncError


class StatementScreen(PosScreen):
    """Type a period (e.g. 2026-10) and Enter: the statement as the server gives it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", _("Back"))]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("Settlement statement"), classes="big")
        yield Input(placeholder=_("Period, e.g. 2026-10"), id="period")
        yield Static("", id="statement", markup=False)
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        self.query_one("#period", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Fetch the period's statement."""
        try:
            statement = await self.blocking(self.pos.counter.statement, event.value.strip())
        except SyncError as exc:
            self.say(exc.message(language()), error=True)
            return
        self.query_one("#statement", Static).update(json.dumps(statement, ensure_ascii=False, indent=2))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()
