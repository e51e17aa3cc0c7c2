"""The status lights at the top of every screen: reader, printer, server (and unsynced sales)."""

from __future__ import annotations

from textual.widgets import Static

from pos.i18n import _


class StatusLights(Static):
    """Three lights (●/○) and the count of sales waiting to be synced."""

    DEFAULT_CSS = ""

    def show(
        self, *, reader: bool | None, printer: bool | None, server: bool | None, unsynced: int = 0
    ) -> None:
        """Redraw the lights (``None`` = unknown yet)."""

        def light(label: str, state: bool | None) -> str:
            if state is None:
                return f"[dim]○ {label}[/]"
            return f"[green]● {label}[/]" if state else f"[red]✕ {label}[/]"

        parts = [light(_("Reader"), reader), light(_("Printer"), printer)]
        parts.append(light(_("Server") if server is not False else _("Offline"), server))
        if unsynced:
            parts.append("[yellow]{label} {n}[/]".format(label=_("Unsynced"), n=unsynced))
        self.update("  ".join(parts))
