"""The terminal's settings: a TOML file in the user's config dir, the token in its own 0600 file.

``~/.config/mykey-pos/config.toml`` (``$XDG_CONFIG_HOME`` respected)::

    server_url = "http://127.0.0.1:8000"
    reader = "pcsc"          # "pcsc", "sim", or a reader name
    printer = "none"         # tcp://host:9100, usb://vid:pid, serial:///dev/ttyUSB0, file:///path, none
    paper_width = 48         # 48 columns on 80 mm paper, 32 on 58 mm
    raster = false           # true: print text as an image (printers without a Kanji ROM)
    language = "ja"          # "ja" or "en"
    journal = "~/.local/share/mykey-pos/journal.db"
    training = false         # true: 練習モード (marked receipts, nothing sent, journal.training.db)

:class:`Settings` is a pydantic model: a hand-edited file with a wrong type, a value out of
range or a key the app does not know is refused at start, naming the key, rather than failing
later at the counter. The token lives next to it in ``token``, readable by its owner only; it is
never written to the TOML file nor logged.
"""

from __future__ import annotations

import os
import pathlib
import tomllib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from points.wire import TerminalMode
from printers.connections import open_printer
from printers.errors import PrinterAddressError

APP_DIR = "mykey-pos"
LANGUAGES = ("ja", "en")
PAPER_WIDTHS = (32, 42, 48)


def config_dir() -> pathlib.Path:
    """The user's config folder for the app (``$XDG_CONFIG_HOME/mykey-pos``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / APP_DIR


def data_dir() -> pathlib.Path:
    """The user's data folder for the journal (``$XDG_DATA_HOME/mykey-pos``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return pathlib.Path(base) / APP_DIR


class SettingsError(ValueError):
    """A settings file that cannot be read, a key it should not have, or a value out of range."""


class Settings(BaseModel):
    """Everything the counter app needs to start; the token is kept out of the TOML file.

    Strict: TOML gives each value its type, so ``paper_width = "48"`` or ``raster = 1`` is a
    mistake in the file, not something to guess about.
    """

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True)

    server_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+\S*$")
    reader: str = Field("pcsc", min_length=1)
    printer: str = "none"
    paper_width: Literal[32, 42, 48] = 48
    raster: bool = False
    language: Literal["ja", "en"] = "ja"
    journal: str = ""
    #: Training mode (練習モード): receipts marked 練習, nothing sent, a journal of its own.
    training: bool = False
    #: Overrides the mode the server's terminal config gives (one run only, from ``--mode``).
    mode: TerminalMode | None = Field(None, strict=False)
    token: str = Field("", repr=False)
    #: Where these settings were read from (and are saved to).
    path: pathlib.Path | None = Field(None, repr=False)

    @field_validator("paper_width", mode="before")
    @classmethod
    def _whole_columns(cls, value: object) -> object:
        # A Literal takes 48.0 for 48; a column count is written as a whole number.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("Input should be 32, 42 or 48")
        return value

    @field_validator("printer")
    @classmethod
    def _printer_address(cls, value: str) -> str:
        # The printer package owns the address format; nothing is opened here.
        try:
            open_printer(value)
        except PrinterAddressError as exc:
            raise ValueError(exc.detail or str(exc)) from None
        return value

    @property
    def journal_path(self) -> pathlib.Path:
        """The journal file (in the data dir unless the settings name one)."""
        path = pathlib.Path(self.journal).expanduser() if self.journal else data_dir() / "journal.db"
        # Training sales never mix with the day's real ones: a file of their own beside it.
        return path.with_name(f"{path.stem}.training{path.suffix}") if self.training else path

    @property
    def token_path(self) -> pathlib.Path:
        """The token file beside the TOML file."""
        return (self.path or config_dir() / "config.toml").with_name("token")


#: The keys of the TOML file (the token has a file of its own; mode and path are per run).
SAVED = ("server_url", "reader", "printer", "paper_width", "raster", "language", "journal", "training")


def describe(error: ValidationError) -> str:
    """One line per wrong setting, each starting with the key's name."""
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "settings"
        if problem["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key!r} (known: {', '.join(SAVED)})")
        else:
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {message}, not {problem['input']!r}")
    return "; ".join(lines)


def make(**values: Any) -> Settings:
    """Settings from keyword values, checked.

    Raises:
        SettingsError: a key the app does not know, a wrong type or a value out of range.
    """
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


def load(path: pathlib.Path | None = None) -> Settings:
    """Read the settings (defaults when the file does not exist) and the token file.

    Raises:
        SettingsError: the TOML is broken, has a key the app does not know, or a value is wrong.
    """
    path = path or config_dir() / "config.toml"
    values: dict[str, Any] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from exc
    unknown = sorted(set(values) - set(SAVED))
    if unknown:
        # The token, mode and path are settings too, but never the file's to set.
        names = ", ".join(repr(name) for name in unknown)
        raise SettingsError(f"{path}: unknown setting {names} (known: {', '.join(SAVED)})")
    try:
        settings = make(**values, path=path)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
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
    """Write the TOML file, and the token file with mode 0600 (created so, never widened; not at all
    when the token is empty)."""
    path = settings.path or config_dir() / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{name} = {_toml_value(getattr(settings, name))}\n" for name in SAVED)
    path.write_text(body, encoding="utf-8")
    if not settings.token:
        return path  # no token typed: never replace a token file with an empty one
    token_path = path.with_name("token")
    # Open with 0600 from the start, so the token is never readable by others even for a moment.
    fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(settings.token + "\n")
    os.chmod(token_path, 0o600)
    return path


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy with ``changes`` applied, checked like a file (:class:`SettingsError` if wrong)."""
    return make(**{**dict(settings), **changes})


def with_overrides(settings: Settings, **overrides: object) -> Settings:
    """A copy with the non-``None`` overrides applied (command-line options for one run)."""
    return replace(settings, **{name: value for name, value in overrides.items() if value is not None})
