"""Settings: server URL and token, reader, printer (address, paper width, Kanji or raster), language.

Saved to the TOML file in the user's config dir (the token to its own 0600 file); they take
effect the next time the app starts.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Static

from pos import settings as settings_module
from pos.card import errors as card_errors
from pos.card.desk import CardDesk
from pos.counter import Counter
from pos.i18n import N_, _
from pos.screens.base import PosScreen, SettingsSaved

FIELDS = (
    ("server_url", N_("Server URL")),
    ("token", N_("Terminal token")),
    ("reader", N_("Card reader (pcsc, sim)")),
    ("printer", N_("Printer (tcp://host:9100, usb://vid:pid, serial:///dev/ttyUSB0, file:///path, none)")),
    ("paper_width", N_("Paper width in columns (48 = 80 mm, 32 = 58 mm)")),
    ("raster", N_("Print as image (true/false)")),
    ("language", N_("Language (ja, en)")),
)


class SettingsScreen(PosScreen):
    """One input per setting; F10 saves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "save", N_("Save")),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, counter: Counter, settings: settings_module.Settings, desk: CardDesk) -> None:
        super().__init__(counter)
        self.settings = settings
        self.desk = desk

    def compose(self) -> ComposeResult:
        current = self.settings
        yield from self.compose_top()
        with VerticalScroll(id="settings"):
            yield Static(self.running(), id="running", markup=False)
            for name, label in FIELDS:
                yield Label(_(label))
                value = getattr(current, name)
                yield Input(
                    value=str(value).lower() if isinstance(value, bool) else str(value),
                    id=f"setting-{name}",
                    password=name == "token",
                )
            yield Static("", id="readers")
        yield from self.compose_bottom()

    def running(self) -> str:
        """What this run uses (the command line may differ from the file shown below)."""
        counter = self.counter
        return _("Running now: server {server}, printer {printer}, journal {journal}").format(
            server=counter.client.base_url, printer=counter.printer.url, journal=counter.journal.path
        )

    def on_mount(self) -> None:
        try:
            names = self.desk.readers()
        except card_errors.CardError as exc:
            self.query_one("#readers", Static).update(exc.message())
            return
        self.query_one("#readers", Static).update(
            _("Readers now: {names}").format(names=", ".join(names) or "-")
        )

    def action_save(self) -> None:
        """Check and save the settings."""
        values: dict[str, object] = {}
        for name, _label in FIELDS:
            text = self.query_one(f"#setting-{name}", Input).value.strip()
            values[name] = text
        try:
            values["paper_width"] = int(str(values["paper_width"]))
            if values["raster"] not in ("true", "false"):
                raise ValueError("raster")
            values["raster"] = values["raster"] == "true"
            updated = settings_module.replace(self.settings, **values)
        except ValueError:
            self.say(
                _("Check the values: paper width 32, 42 or 48; raster true or false; language ja or en."),
                error=True,
            )
            return
        settings_module.save(updated)
        self.settings = updated
        self.post_message(SettingsSaved(updated))
        if not updated.token:
            self.say(
                _("Saved, but without a token: the token file was left as it was. Enter the token."),
                error=True,
            )
            return
        self.say(_("Saved. The new settings apply when the app starts again."))

    def action_back(self) -> None:
        """Back home."""
        self.app.pop_screen()
