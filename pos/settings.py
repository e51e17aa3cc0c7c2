"""The terminal's settings: a TOML file in the user's config dir, the token in its own 0600 file.

``~/.config/mykey-pos/config.toml`` (``$XDG_CONFIG_HOME`` respected)::

    server_url = "http://127.0.0.1:8000"
    reader = "pcsc"          # "pcsc", "sim", or a reader name
    printer = "none"         # tcp://host:9100, usb://vid:pid, serial:///dev/ttyUSB0, file:///path, none
    paper_width = 48         # 48 columns on 80 mm paper, 32 on 58 mm
    raster = false           # true: print text as an image (printers without a Kanji ROM)
    language = "ja"          # "ja" or "en"
    journal = "~/.local/share/mykey-pos/journal.db"

The token lives next to it in ``token``, readable by its owner only; it is never written to
the TOML file nor logged.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import tomllib
from dataclasses import dataclass, field

APP_DIR = "mykey-pos"
LANGUAGES = ("ja", "en")


def config_dir() -> pathlib.Path:
    """The user's config folder for the app (``$XDG_CONFIG_HOME/mykey-pos``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / APP_DIR


def data_dir() -> pathlib.Path:
    """The user's data folder for the journal (``$XDG_DATA_HOME/mykey-pos``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return pathlib.Path(base) / APP_DIR


class SettingsError(ValueError):
    """A settings file that cannot be read, or a value out of range."""


@dataclass
class Settings:
    """Everything the counter app needs to start; the token is kept out of the TOML file."""

    server_url: str = "http://127.0.0.1:8000"
    reader: str = "pcsc"
    printer: str = "none"
    paper_width: int = 48
    raster: bool = False
    language: str = "ja"
    journal: str = ""
    #: Overrides the mode the server's terminal config gives (one run only, from ``--mode``).
    mode: str | None = None
    token: str = field(default="", repr=False)
    #: Where these settings were read from (and are saved to).
    path: pathlib.Path | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # A hand-edited TOML file can hold any type: refuse it here rather than fail at the counter.
        for name in ("server_url", "reader", "printer", "language", "journal"):
            if not isinstance(getattr(self, name), str):
                raise SettingsError(f"{name} must be text, not {getattr(self, name)!r}")
        if not isinstance(self.raster, bool):
            raise SettingsError(f"raster must be true or false, not {self.raster!r}")
        if self.language not in LANGUAGES:
            raise SettingsError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        if self.paper_width not in (32, 42, 48):
            raise SettingsError(f"paper_width must be 32, 42 or 48, not {self.paper_width}")

    @property
    def journal_path(self) -> pathlib.Path:
        """The journal file (in the data dir unless the settings name one)."""
        if self.journal:
            return pathlib.Path(self.journal).expanduser()
        return data_dir() / "journal.db"

    @property
    def token_path(self) -> pathlib.Path:
        """The token file beside the TOML file."""
        return (self.path or config_dir() / "config.toml").with_name("token")


_SAVED = ("server_url", "reader", "printer", "paper_width", "raster", "language", "journal")


def load(path: pathlib.Path | None = None) -> Settings:
    """Read the settings (defaults when the file does not exist) and the token file.

    Raises:
        SettingsError: the TOML is broken or a value is wrong.
    """
    path = path or config_dir() / "config.toml"
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: {exc}") from exc
    unknown = set(values) - set(_SAVED)
    if unknown:
        raise SettingsError(f"{path}: unknown settings {sorted(unknown)}")
    try:
        settings = Settings(**values, path=path)  # type: ignore[arg-type]
    except TypeError as exc:
        raise SettingsError(f"{path}: {exc}") from exc
    if settings.token_path.exists():
        settings.token = settings.token_path.read_text(encoding="utf-8").strip()
    return settings


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def save(settings: Settings) -> pathlib.Path:
    """Write the TOML file, and the token file with mode 0600 (created so, never widened)."""
    path = settings.path or config_dir() / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{name} = {_toml_value(getattr(settings, name))}\n" for name in _SAVED)
    path.write_text(body, encoding="utf-8")
    token_path = path.with_name("token")
    # Open with 0600 from the start, so the token is never readable by others even for a moment.
    fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(settings.token + "\n")
    os.chmod(token_path, 0o600)
    return path


def with_overrides(settings: Settings, **overrides: object) -> Settings:
    """A copy with the non-``None`` overrides applied (command-line options for one run)."""
    changes = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
