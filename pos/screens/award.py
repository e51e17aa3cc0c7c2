"""The award station (Toshima): tap → the event's fixed award, once per card per event."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from points.money import format_points
from points.programs import EventAward
from pos.checkout import TenderRefused
from pos.i18n import _
from pos.journal import EntryState
from pos.screens.base import CardRead, PosScreen
from pos.sync import ServerRefused, SyncError


class AwardScreen(PosScreen):
    """Waits for taps; each shows the award given, or why not (already awarded)."""

    def compose(self) -> ComposeResult:
        event = self.counter.config.event if self.counter.config else None
        yield from self.compose_top()
        with Vertical(id="award"):
            yield Static(
                event.name or event.event_id if event else _("No event set."), id="event", classes="big"
            )
            yield Static(_("Please touch your card"), id="prompt", classes="big")
            yield Static("", id="result", classes="big")
        yield from self.compose_bottom()

    def event_points(self) -> int:
        """What the event's program awards for this kind of event (0 when it has no such rule)."""
        config = self.counter.config
        event = config.event if config else None
        if config is None or event is None:
            return 0
        for program in config.programs:
            if program.id == event.program_id and isinstance(program.award_rule, EventAward):
                try:
                    return program.award_rule.points_for(event.kind)
                except KeyError:
                    return 0
        return 0

    async def on_card_read(self, message: CardRead) -> None:
        """Award the event's points to the tapped card."""
        result = self.query_one("#result", Static)
        try:
            entry = await self.blocking(self.counter.award, message.identity.card_key)
        except ServerRefused as refused:
            if refused.code == "already_awarded":
                result.update(_("This card already received this award."))
            else:
                result.update(refused.message())
            return
        except TenderRefused as refused:
            result.update(refused.text())
            return
        except SyncError as exc:
            result.update(exc.message())
            return
        if self.counter.training:
            result.update(
                _("Training: {points} would be awarded. Nothing is sent.").format(
                    points=format_points(self.event_points())
                )
            )
            return
        if entry.state is EntryState.OFFLINE:
            result.update(_("Offline: the award is queued and will be sent later."))
            return
        answer = entry.answer or {}
        points = int(answer.get("award", {}).get("points", 0))
        balance = int(answer.get("balance", {}).get("points", 0))
        result.update(
            _("Awarded {points}. Balance {balance}.").format(
                points=format_points(points), balance=format_points(balance)
            )
        )
