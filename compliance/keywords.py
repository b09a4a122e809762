"""Parser of inbound replies: opt-out, opt-in, help (docs/compliance.md, "Keywords").

The whole message is the keyword, after NFKC, trim, whitespace collapse, trailing punctuation strip,
case-fold and accent strip. A reply that looks like an opt-out but is not a keyword ("stop svp",
"arretez") is a near miss: queued for review and treated as an opt-out by default, since losing a STOP
costs far more than suppressing someone who meant it loosely.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"
NEAR_MISS_OPT_OUT = "near_miss_opt_out"
NONE = "none"

DEFAULT_OPT_OUT = (
    "STOP", "STOP SMS", "STOPSMS", "ARRET", "DESABONNER", "DESINSCRIPTION", "UNSUBSCRIBE", "STOPALL",
    "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
)  # fmt: skip
DEFAULT_OPT_IN = ("START", "UNSTOP", "YES")
DEFAULT_HELP = ("HELP", "INFO", "AIDE")

# Stems that betray an intention to stop when the message is not exactly a keyword. Matched on word
# starts of the normalised text.
_NEAR_MISS_RE = re.compile(
    r"\b(stop|arret|desabonn|desinscri|unsubscrib|opt ?out|optout|ne plus recevoir|plus de sms|"
    r"retirez|supprimez|radiez|desincri|desabo)"
)
_TRAILING_PUNCT = re.compile(r"[\s\.\!\?\,\;\:\-\_\*\~\'\"\)\(\]\[…¡¿]+$")
_LEADING_PUNCT = re.compile(r"^[\s\.\!\?\,\;\:\-\_\*\~\'\"\)\(\]\[…¡¿]+")


def normalise(text: str) -> str:
    """NFKC, trim, whitespace collapse, trailing punctuation strip, case-fold and accent strip."""
    text = unicodedata.normalize("NFKC", text or "")
    text = " ".join(text.split())
    text = _TRAILING_PUNCT.sub("", text)
    text = _LEADING_PUNCT.sub("", text)
    text = text.casefold()
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", text)


def _keyset(words: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(w) for w in words)


_DEFAULT_SETS = (_keyset(DEFAULT_OPT_OUT), _keyset(DEFAULT_OPT_IN), _keyset(DEFAULT_HELP))


def classify(
    text: str,
    *,
    opt_out: Iterable[str] | None = None,
    opt_in: Iterable[str] | None = None,
    help: Iterable[str] | None = None,
) -> str:
    """Classifies an inbound reply: ``opt_out``, ``opt_in``, ``help``, ``near_miss_opt_out`` or ``none``.

    Keyword sets default to those of docs/compliance.md, "Keywords"; a caller may pass a rule pack's own
    (``pack.keywords``).
    """
    out_set = _DEFAULT_SETS[0] if opt_out is None else _keyset(opt_out)
    in_set = _DEFAULT_SETS[1] if opt_in is None else _keyset(opt_in)
    help_set = _DEFAULT_SETS[2] if help is None else _keyset(help)
    norm = normalise(text)
    if not norm:
        return NONE
    if norm in out_set:
        return OPT_OUT
    if norm in in_set:
        return OPT_IN
    if norm in help_set:
        return HELP
    if _NEAR_MISS_RE.search(norm) or norm.replace(" ", "") in out_set:
        return NEAR_MISS_OPT_OUT
    return NONE


def is_opt_out(kind: str) -> bool:
    """Whether a classification suppresses the number (a near miss does, by default)."""
    return kind in (OPT_OUT, NEAR_MISS_OPT_OUT)
