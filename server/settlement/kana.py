"""Names in a Zengin file: the characters a paying bank takes, and one function that fits a name to a field.

Every name field of a 総合振込 file (依頼人名 C40, 受取人名 C30, 銀行名 and 支店名 C15) goes through
:func:`fit_name`. It converts a name the routine way (hiragana to katakana, full-width to half-width,
lower to upper case, small kana to large: what every bank expects), then to the paying bank's
:class:`Charset` (e.g. ``ｰ`` → ``-``), drops a voiced mark that follows no kana it can voice, and
cuts the name to the field's width without ever separating a kana from its 濁点 ``ﾞ`` or 半濁点
``ﾟ`` (「ﾊﾋﾞ」 cut to two characters is 「ﾊ」, never 「ﾊﾋ」). Whatever it did beyond the routine
conversion is in :attr:`FittedName.reasons`, so nothing is ever changed silently: the settlement
pre-check lists it and the clerk fixes the record or accepts the proposed form.

Pure: no I/O, no database. The per-bank table lives in :mod:`server.settlement.namecheck`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import jaconv

#: Half-width katakana, large only (ｱ..ﾝ); ｦ (U+FF66) and ｰ (U+FF70) are listed apart.
_KANA = "".join(chr(c) for c in range(0xFF71, 0xFF9E))
DAKUTEN, HANDAKUTEN = "ﾞ", "ﾟ"
MARKS = DAKUTEN + HANDAKUTEN
#: The kana a mark may follow: ﾞ voices ｶ-ﾄ, ﾊ-ﾎ, ｳ (ｳﾞ), ﾜ and ｦ (ヷ, ヺ); ﾟ only ﾊ-ﾎ.
_VOICEABLE = {
    DAKUTEN: frozenset("ｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎｳﾜｦ"),
    HANDAKUTEN: frozenset("ﾊﾋﾌﾍﾎ"),
}
_LONE_MARK = re.compile("(?<![ｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎｳﾜｦ])ﾞ|(?<![ﾊﾋﾌﾍﾎ])ﾟ")

_SMALL_TO_LARGE = str.maketrans("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ")
#: Characters banks conventionally take in place of ones they do not (・ as ., dashes as -), and
#: voiced marks typed apart (か゛) or decomposed (か + U+3099) as the half-width marks.
_SUBSTITUTES = str.maketrans(
    {
        "･": ".",
        "・": ".",
        "¥": "\\",
        "￥": "\\",
        "‐": "-",
        "−": "-",
        "―": "-",
        "゛": DAKUTEN,
        "゜": HANDAKUTEN,
        "\u3099": DAKUTEN,
        "\u309a": HANDAKUTEN,
    }
)
#: Already half-width (how holder names are usually stored): the full conversion can be skipped.
_HALF_WIDTH = re.compile(r"[\uFF61-\uFF9F A-Za-z0-9().,\-/\\]*")


@dataclass(frozen=True, eq=False)  # compared by identity: a profile is one object (cheap cache keys)
class Charset:
    """The characters one paying bank accepts in name fields, and what replaces the ones it refuses.

    Args:
        name: the profile's name in the settlement settings (``strict``, ``zengin``).
        allowed: every character the bank takes (after the routine conversion).
        replace: pairs (refused character, what the pre-check proposes instead).
    """

    name: str
    allowed: frozenset[str] = field(repr=False)
    replace: tuple[tuple[str, str], ...] = ()
    _table: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)
    _fast: re.Pattern[str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_table", dict(self.replace))
        object.__setattr__(self, "_fast", re.compile("[" + re.escape("".join(sorted(self.allowed))) + "]*"))

    def replacement(self, char: str) -> str | None:
        """What replaces a character this bank refuses, or None when nothing does."""
        return self._table.get(char)

    def takes(self, text: str) -> bool:
        """Whether every character of ``text`` is in the set."""
        return self._fast.fullmatch(text) is not None

    def holds(self, text: str) -> bool:
        """Whether ``text`` is in the set with no space at either end and no mark apart from its kana."""
        if self._fast.fullmatch(text) is None or text[:1] == " " or text[-1:] == " ":
            return False
        # The mark search only for names with a mark: it costs several times the set's match.
        return not ((DAKUTEN in text or HANDAKUTEN in text) and _LONE_MARK.search(text))


_BASE = frozenset(_KANA + MARKS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ().-")
#: The full Zengin half-width set: kana, ｦ, ｰ, A-Z, 0-9, space and ( ) . - , / \ (0x5C, printed ¥).
ZENGIN = Charset("zengin", _BASE | frozenset("ｦｰ,/\\"))
#: The strict default (issue 17): without ｰ (→ -, as the zengin-code data writes long vowels),
#: without ｦ (→ ｵ, how it is pronounced) and without , / \ (→ .), which several banks' upload
#: specifications forbid in 受取人名.
STRICT = Charset("strict", _BASE, (("ｰ", "-"), ("ｦ", "ｵ"), (",", "."), ("/", "."), ("\\", ".")))
PROFILES = {charset.name: charset for charset in (STRICT, ZENGIN)}


def normalize(text: str) -> str:
    """The routine conversion every bank expects, with nothing dropped or cut.

    Hiragana become katakana, full-width becomes half-width, lower case upper case, small kana
    large (ｯ → ﾂ), ・ becomes ``.``; spaces at either end go (the field is space-filled anyway).
    Characters no bank takes (kanji, emoji) are left in place for :func:`fit_name` to report.
    """
    if not _HALF_WIDTH.fullmatch(text):
        text = jaconv.z2h(
            jaconv.hira2kata(unicodedata.normalize("NFC", text)), kana=True, ascii=True, digit=True
        )
    return text.translate(_SUBSTITUTES).upper().translate(_SMALL_TO_LARGE).strip(" ")


@dataclass(frozen=True, slots=True)
class FittedName:
    """A name fitted to a field: what was stored, its routine form, and what the field holds.

    ``written`` differs from ``canonical`` exactly when something beyond the routine conversion
    happened; ``reasons`` says what (``too_long``, ``replaced``, ``lone_mark``, ``unencodable``).
    """

    original: str
    canonical: str
    written: str
    width: int
    reasons: tuple[str, ...] = ()
    replaced: str = ""
    unencodable: str = ""

    @property
    def changed(self) -> bool:
        """Whether the field would hold something other than the name's routine form."""
        return self.written != self.canonical


def _as_is(text: str, width: int, charset: Charset) -> bool:
    # The field would hold ``text`` unchanged: short enough, in the set, no space at either end,
    # no mark without its kana (the routine conversion of such a text is the text itself).
    return len(text) <= width and charset.holds(text)


def holds_as_is(text: str, width: int, charset: Charset = STRICT) -> bool:
    """Whether a field of ``width`` in ``charset`` holds ``text`` exactly as it is (and it is not empty).

    The cheap question a file of 10,000 stored names asks first: for such a name
    :func:`fit_name` would change nothing and report nothing.
    """
    return text != "" and _as_is(text, width, charset)


def fit_name(text: str, width: int, charset: Charset = STRICT) -> FittedName:
    """Fit a name to a field of ``width`` half-width characters in ``charset`` (every name field uses it).

    Returns:
        The fitted name; ``written`` uses only ``charset``, is at most ``width`` characters (each one
        byte in cp932), never starts a mark without its kana and never ends with a kana whose mark
        was cut off.
    """
    if _as_is(text, width, charset):
        return FittedName(text, text, text, width)  # already as the field holds it (most stored names)
    canonical = normalize(text)
    if len(canonical) <= width and charset.takes(canonical) and not _LONE_MARK.search(canonical):
        return FittedName(text, canonical, canonical, width)
    kept: list[str] = []
    replaced: dict[str, None] = {}
    bad: dict[str, None] = {}
    reasons: dict[str, None] = {}
    previous: str | None = None  # the previous character as written (None: it was dropped)
    for char in canonical:
        if char in MARKS:
            # A mark belongs to the kana just before it; one that voices nothing is dropped, and
            # dropping a refused character never lets its mark land on the kana before that.
            if previous is not None and previous in _VOICEABLE[char] and charset.takes(char):
                kept.append(char)
            else:
                reasons["lone_mark"] = None
            previous = None
            continue
        if charset.takes(char):
            written: str | None = char
        else:
            written = charset.replacement(char)
            if written is None:
                bad[char] = None
                reasons["unencodable"] = None
            else:
                replaced[char] = None
                reasons["replaced"] = None
        if written is not None:
            kept.append(written)
        previous = written
    result = "".join(kept).strip(" ")
    if len(result) > width:
        cut = result[:width]
        if result[width] in MARKS:  # the kana at the edge would lose its mark: leave it out too
            cut = cut[:-1]
        result = cut.rstrip(" ")
        reasons["too_long"] = None
    return FittedName(text, canonical, result, width, tuple(reasons), "".join(replaced), "".join(bad))
