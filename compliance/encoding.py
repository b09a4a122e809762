"""SMS encoding and segments (3GPP TS 23.038 / 23.040; docs/compliance.md, "Encoding and segments").

A message is GSM-7 when every character is in the default alphabet or its extension table (extension
characters cost 2 septets: ESC + code); otherwise the whole message is UCS-2 (UTF-16 code units, so a
character outside the BMP such as an emoji costs 2). A single SMS holds 160 septets / 70 units; a
concatenated one 153 / 67 per segment (the user data header takes the rest). An escape pair or a
surrogate pair is never split across segments: it moves whole to the next one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# 3GPP TS 23.038 6.2.1, default alphabet (0x1B, the escape, is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# 6.2.1.1, extension table: each costs 2 septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7, MULTI_GSM7 = 160, 153
SINGLE_UCS2, MULTI_UCS2 = 70, 67

_GSM_ALL = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
_NON_GSM_RE = re.compile("[^" + re.escape(_GSM_ALL) + "]")
_EXTENSION_RE = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")

# Smart encoding (opt-in per organisation): typographic characters that word processors and phones
# insert, replaced by their GSM-7 equivalent. Accented letters are never touched: changing a name or a
# word is the author's decision, not ours.
SMART_REPLACEMENTS: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\u2007": " ", "\u2008": " ",
    "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ", "\u2006": " ", "\u205f": " ", "\u3000": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
}  # fmt: skip
_SMART_TABLE = str.maketrans(SMART_REPLACEMENTS)

# Suggestions only (shown to the author, never applied automatically): the closest GSM-7 spelling.
SUGGESTED_REPLACEMENTS: dict[str, str] = {
    **SMART_REPLACEMENTS,
    "ê": "e", "ë": "e", "â": "a", "î": "i", "ï": "i", "ô": "o", "û": "u", "ÿ": "y", "œ": "oe", "Œ": "OE",
    "À": "A", "Â": "A", "È": "E", "Ê": "E", "Ë": "E", "Î": "I", "Ï": "I", "Ô": "O", "Û": "U", "Ù": "U",
    "ç": "c", "á": "a", "í": "i", "ó": "o", "ú": "u", "ã": "a", "õ": "o", "`": "'", "´": "'",
}  # fmt: skip


def smart_encode(body: str) -> str:
    """Replaces typographic quotes, dashes, ellipsis and special spaces; removes zero-width characters."""
    return body.translate(_SMART_TABLE)


def transliterate(text: str) -> str:
    """``text`` with every letter outside GSM-7 written with its closest GSM-7 spelling (Noël -> Noel,
    Loïc -> Loic, Gaëlle -> Gaelle); letters GSM-7 has (é, è, à, ü...) and other characters are kept.

    Applied to merge values only, on the author's choice: a customer's name loses an accent so that
    the whole message does not switch to Unicode (70 characters per SMS instead of 160)."""
    if _NON_GSM_RE.search(text) is None:
        return text
    return _NON_GSM_RE.sub(_letter_gsm7, text)


def _letter_gsm7(match: re.Match) -> str:
    char = match.group(0)
    if not char.isalpha():
        return char
    if char in SUGGESTED_REPLACEMENTS:
        return SUGGESTED_REPLACEMENTS[char]
    # Other Latin letters: the base letter without its marks (ā -> a, ş -> s), when that is GSM-7.
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and _NON_GSM_RE.search(base) is None else char


def is_gsm7(body: str) -> bool:
    return _NON_GSM_RE.search(body) is None


def _gsm_segments(body: str, septets: int) -> int:
    if septets <= SINGLE_GSM7:
        return 1 if body else 0
    if _EXTENSION_RE.search(body) is None:
        return -(-septets // MULTI_GSM7)
    segments, used = 1, 0
    for ch in body:
        width = 2 if ch in GSM7_EXTENSION else 1
        if used + width > MULTI_GSM7:  # an escape pair moves whole to the next segment
            segments += 1
            used = 0
        used += width
    return segments


def _ucs2_segments(body: str, units: int) -> int:
    if units <= SINGLE_UCS2:
        return 1 if body else 0
    if units == len(body):  # no surrogate pair: nothing can straddle
        return -(-units // MULTI_UCS2)
    segments, used = 1, 0
    for ch in body:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > MULTI_UCS2:  # a surrogate pair moves whole to the next segment
            segments += 1
            used = 0
        used += width
    return segments


def _ucs2_units(body: str) -> int:
    if body.isascii():
        return len(body)
    return len(body.encode("utf-16-le")) // 2  # in C: a character outside the BMP is a surrogate pair


def count_segments(body: str) -> int:
    """Number of SMS segments of ``body`` as it will be sent (after merge fields are rendered).

    The hot path of cost estimates (one call per recipient): no object is built.
    """
    if _NON_GSM_RE.search(body) is None:
        septets = len(body)
        if septets * 2 > SINGLE_GSM7:  # shorter bodies fit in one SMS even if all are escape pairs
            septets += len(_EXTENSION_RE.findall(body))
        return _gsm_segments(body, septets)
    return _ucs2_segments(body, _ucs2_units(body))


@dataclass(frozen=True)
class Culprit:
    """A character that forces UCS-2, how often it occurs and what replacing it would save."""

    char: str
    count: int
    replacement: str | None
    segments_if_replaced: int  # segments of the message when only this character is replaced

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"


@dataclass(frozen=True)
class SegmentInfo:
    body: str
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # Unicode characters as the author sees them
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of one segment for this length (160/153 or 70/67)
    non_gsm_characters: list[str] = field(default_factory=list)

    @property
    def is_unicode(self) -> bool:
        return self.encoding == UCS2


def analyse(body: str, smart: bool = False) -> SegmentInfo:
    """Encoding, length and segments of ``body``; with ``smart`` the smart replacements apply first."""
    if smart:
        body = smart_encode(body)
    non_gsm = list(dict.fromkeys(_NON_GSM_RE.findall(body)))
    if not non_gsm:
        units = len(body) + len(_EXTENSION_RE.findall(body))
        segments = _gsm_segments(body, units)
        per = SINGLE_GSM7 if units <= SINGLE_GSM7 else MULTI_GSM7
        return SegmentInfo(body, GSM7, len(body), units, segments, per, [])
    units = _ucs2_units(body)
    segments = _ucs2_segments(body, units)
    per = SINGLE_UCS2 if units <= SINGLE_UCS2 else MULTI_UCS2
    return SegmentInfo(body, UCS2, len(body), units, segments, per, non_gsm)


@dataclass(frozen=True)
class UnicodeReport:
    """What forces UCS-2 and what replacing the culprits would save (shown by the composer)."""

    segments: int
    segments_if_all_replaced: int  # when every culprit that has a replacement is replaced
    replaced_body: str
    culprits: list[Culprit]

    @property
    def saving(self) -> int:
        return self.segments - self.segments_if_all_replaced


def ucs2_report(body: str) -> UnicodeReport:
    """Lists the characters that force UCS-2, each with its suggested replacement and the segments
    the message would take with that character alone replaced, and with all of them replaced."""
    current = count_segments(body)
    counts: dict[str, int] = {}
    for ch in _NON_GSM_RE.findall(body):
        counts[ch] = counts.get(ch, 0) + 1
    culprits = []
    for ch, n in counts.items():
        repl = SUGGESTED_REPLACEMENTS.get(ch)
        after = count_segments(body.replace(ch, repl)) if repl is not None else current
        culprits.append(Culprit(ch, n, repl, after))
    table = str.maketrans({c.char: c.replacement for c in culprits if c.replacement is not None})
    replaced = body.translate(table)
    return UnicodeReport(current, count_segments(replaced), replaced, culprits)
