"""Shown when the counter cannot start: no server and no saved configuration, or a refused token."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from pos.counter import Counter
from pos.i18n import _
from pos.screens.base import PosScreen


class ProblemScreen(PosScreen):
    """A clear message and what to do; Ctrl+Q quits."""

    def __init__(self, counter: Counter, problem: str) -> None:
        super().__init__(counter)
        self.problem = problem

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static(_("The counter cannot start"), classes="big")
        yield Static(self.problem, id="problem", classes="error")
        yield from self.compose_bottom()
