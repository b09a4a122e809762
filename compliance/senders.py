"""Sender-ID rules and the opt-out mention: docs/compliance.md, "Senders" and "The opt-out mention"."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

SHORT_CODE_RE = re.compile(r"^3[68]\d{3}$")
ALPHANUMERIC_RE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{3,11}$")
STOP_MENTION_RE = re.compile(r"(?i)\bstop(\s+sms)?\s+(au\s+)?3[68]\d{3}\b")

GENERIC_WORDS = frozenset({"INFO", "SMS", "ALERTE", "RDV", "PAIEMENT", "BANQUE", "COLIS", "VERIFY", "NOTICE"})
OPERATOR_NAMES = frozenset({"ORANGE", "SFR", "BOUYGUES", "FREE"})
# Regions whose mobile numbers may not be used as A2P senders (ARCEP 2018-0881, 2022-1583).
_FR_COUNTRY_CODES = frozenset({33, 262, 590, 594, 596, 508})

# Reason codes, each with an English message (the UI translates it).
SENDER_EMPTY = "empty"
SENDER_FORMAT = "invalid_format"
SENDER_SHORT_CODE_RANGE = "short_code_range"
SENDER_ALL_DIGITS = "all_digits"
SENDER_GENERIC = "generic_word"
SENDER_OPERATOR = "operator_name"
SENDER_MOBILE_NUMBER = "mobile_number"

SENDER_MESSAGES = {
    SENDER_EMPTY: "A sender is required.",
    SENDER_FORMAT: "A sender ID has 3 to 11 letters or digits, at least one letter, no space or punctuation.",
    SENDER_SHORT_CODE_RANGE: "A numeric sender must be a 5-digit short code starting with 36 or 38.",
    SENDER_ALL_DIGITS: "A sender ID cannot be all digits unless it is a 5-digit short code (36xxx or 38xxx).",
    SENDER_GENERIC: "Generic words (INFO, SMS, ALERTE, RDV...) cannot be used as a sender ID.",
    SENDER_OPERATOR: "Operator names (ORANGE, SFR, BOUYGUES, FREE) cannot be used as a sender ID.",
    SENDER_MOBILE_NUMBER: "A French mobile number (06/07, or a DOM mobile) cannot send A2P SMS (ARCEP).",
}


@dataclass(frozen=True)
class SenderCheck:
    sender: str
    kind: str  # "short_code", "alphanumeric" or "invalid"
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def messages(self) -> list[str]:
        return [SENDER_MESSAGES[r] for r in self.reasons]


def _is_french_mobile(sender: str) -> bool:
    digits = re.sub(r"[\s.\-()]", "", sender)
    if not re.fullmatch(r"\+?\d{9,15}", digits):
        return False
    try:
        number = phonenumbers.parse(digits, "FR")
    except phonenumbers.NumberParseException:
        return False
    # By prefix rather than phonenumbers' validity: an unallocated 07 block is still a mobile range.
    national = str(number.national_number)
    return number.country_code in _FR_COUNTRY_CODES and len(national) == 9 and national[0] in "67"


def check_sender(sender: str) -> SenderCheck:
    """Validates a sender (docs/compliance.md, "Senders"); every failed rule is a reason code."""
    raw = (sender or "").strip()
    if not raw:
        return SenderCheck(raw, "invalid", (SENDER_EMPTY,))
    if _is_french_mobile(raw):
        return SenderCheck(raw, "invalid", (SENDER_MOBILE_NUMBER,))
    if raw.isdigit():
        if SHORT_CODE_RE.match(raw):
            return SenderCheck(raw, "short_code", ())
        if len(raw) == 5:
            return SenderCheck(raw, "invalid", (SENDER_SHORT_CODE_RANGE,))
        return SenderCheck(raw, "invalid", (SENDER_ALL_DIGITS,))
    reasons = []
    if not ALPHANUMERIC_RE.match(raw):
        reasons.append(SENDER_FORMAT)
    upper = raw.upper()
    if upper in GENERIC_WORDS:
        reasons.append(SENDER_GENERIC)
    if upper in OPERATOR_NAMES:
        reasons.append(SENDER_OPERATOR)
    return SenderCheck(raw, "invalid" if reasons else "alphanumeric", tuple(reasons))


def brand_identifiable(sender: str, body: str, brand: str) -> bool:
    """The brand must be identifiable in the sender ID or in the body (docs/compliance.md, "Senders")."""
    if not brand:
        return True  # nothing to check against; the organisation must set its brand

    def squash(text: str) -> str:
        return re.sub(r"[^0-9a-z]", "", text.casefold())

    key = squash(brand)
    return bool(key) and (key in squash(sender or "") or key in squash(body or ""))


def has_stop_mention(body: str, unsubscribe_url: str = "") -> bool:
    """Whether ``body`` carries an opt-out mention: ``STOP au 36xxx`` or the organisation's URL."""
    if STOP_MENTION_RE.search(body or ""):
        return True
    return bool(unsubscribe_url) and unsubscribe_url in (body or "")


def ensure_stop_mention(body: str, mention: str, unsubscribe_url: str = "") -> str:
    """Appends the organisation's mention when the body has none (it then counts in length and cost)."""
    body = body or ""
    if has_stop_mention(body, unsubscribe_url) or not mention:
        return body
    if mention in body:
        return body
    return f"{body.rstrip()} {mention}" if body.strip() else mention
