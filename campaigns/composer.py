"""The composer's live counter: what the message will cost, and which characters make it expensive.

Pure functions over the compliance module (no query): the view passes the audience it loaded, grouped by
the values of the merge fields (:func:`campaigns.selectors.audience_groups`). The figures at the top are
those of the text as typed, merge fields rendered with their fallback (``{first_name|client}`` counts as
``client``); the credits are those of every recipient's own text (:mod:`campaigns.costing`), the same
as the estimate's and the launch's. URLs are counted at the length of the tracked short link each
recipient will get (:func:`analytics.links.body_for_counting`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from analytics.links import body_for_counting, preview_links
from campaigns.models import Category
from campaigns.rendering import merge_fields, prepare_body, render, render_for
from compliance.encoding import GSM7, SUGGESTED_REPLACEMENTS, UCS2, SegmentInfo, analyse, count_segments
from compliance.senders import SenderCheck, check_sender, has_stop_mention

from .costing import AudiencePrice, audience_price
from .selectors import AudienceGroup

# Above this the composer warns: a message of 4 SMS or more is rarely what a shop owner meant to send.
LONG_MESSAGE_SEGMENTS = 4
MAX_BODY = 1600


@dataclass(frozen=True)
class Fix:
    """One character forcing UCS-2, and what replacing (or removing) it everywhere would give."""

    char: str
    count: int
    replacement: str  # "" means "remove" (emoji and symbols without a GSM-7 spelling)
    segments_after: int
    encoding_after: str

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"

    @property
    def display_char(self) -> str:
        return {"\u00a0": "⍽", "\u202f": "⍽", "\u200b": "∅", "\ufeff": "∅"}.get(self.char, self.char)


@dataclass
class Counter:
    body: str  # what the author typed
    final: str  # what a recipient with no personal data receives (mention appended, fallbacks)
    info: SegmentInfo
    stop_suffix: str  # the mention the platform appends (shown as a non-editable suffix), or ""
    has_own_stop: bool
    fixes: list[Fix] = field(default_factory=list)
    segments_if_all_fixed: int = 0  # the one-click fix, accented letters kept
    without_accents: str = ""  # the text as received if the author also removes the accents, or ""
    segments_without_accents: int = 0
    fields_used: list[str] = field(default_factory=list)
    sender: SenderCheck | None = None
    recipients: int | None = None
    credits: int | None = None
    credits_if_all_fixed: int | None = None
    price: AudiencePrice | None = None  # the chosen audience's exact cost and its distribution
    transliterate_values: bool = False
    too_long: bool = False
    sender_messages: list[str] = field(default_factory=list)

    @property
    def is_unicode(self) -> bool:
        return self.info.encoding == UCS2

    @property
    def saving(self) -> int:
        return self.info.segments - self.segments_if_all_fixed

    @property
    def show_fix_all(self) -> bool:
        """The one-click fix is offered when it changes something (accented letters are not its job)."""
        typography = [fix for fix in self.fixes if not is_letter(fix.char)]
        return bool(typography) and (len(self.fixes) > 1 or self.saving > 0)

    @property
    def long_message(self) -> bool:
        return self.info.segments >= LONG_MESSAGE_SEGMENTS

    @property
    def chunks(self) -> list[tuple[str, bool]]:
        """The text as sent, cut into (text, forces UCS-2) runs so the page can highlight culprits."""
        culprits = set(self.info.non_gsm_characters)
        out: list[tuple[str, bool]] = []
        for ch in self.final:
            flag = ch in culprits
            if out and out[-1][1] == flag:
                out[-1] = (out[-1][0] + ch, flag)
            else:
                out.append((ch, flag))
        return out

    @property
    def credits_saved(self) -> int:
        if self.credits is None or self.credits_if_all_fixed is None:
            return 0
        return self.credits - self.credits_if_all_fixed

    @property
    def remaining(self) -> int:
        """Characters (units) left in the current segment before the next one starts."""
        if not self.info.units:
            return 160
        capacity = self.info.per_segment * self.info.segments
        return max(capacity - self.info.units, 0)


def replace_char(body: str, char: str, replacement: str | None = None) -> str:
    """The one-click fix: ``char`` replaced everywhere by its GSM-7 spelling (or removed)."""
    if not char:
        return body
    if replacement is None:
        replacement = SUGGESTED_REPLACEMENTS.get(char, "")
    if not replacement:
        # A removed emoji between two words must not leave two spaces behind.
        body = body.replace(f" {char} ", " ")
    return body.replace(char, replacement)


def is_letter(char: str) -> bool:
    """An accented letter (ê, ô, ï...): replacing it changes a French word ("fêtes" -> "fetes", "le vôtre"
    -> "le votre"), so it is never part of the one-click fix, only of an explicit choice."""
    return unicodedata.category(char).startswith("L")


def replace_all(body: str, *, accents: bool = False) -> str:
    """Every character that forces UCS-2 replaced by its GSM-7 spelling (or removed): typography (quotes,
    dashes, spaces) and symbols; accented letters too only when ``accents`` is asked for."""
    info = analyse(body)
    for char in info.non_gsm_characters:
        if accents or not is_letter(char):
            body = replace_char(body, char)
    return body


def compose(
    *,
    body: str,
    stop_mention: str,
    category: str = Category.MARKETING,
    smart: bool = False,
    sender_id: str = "",
    audience: list[AudienceGroup] | None = None,
    transliterate_values: bool = False,
) -> Counter:
    """The counter for one state of the composer; ``audience`` (grouped, see above) when one is chosen."""
    body = (body or "")[: MAX_BODY * 2]
    marketing = category != Category.TRANSACTIONAL
    prepared = prepare_body(body, marketing=marketing, stop_mention=stop_mention)
    stop_suffix = ""
    if marketing and prepared != body.strip():
        stop_suffix = prepared[len(body.strip()) :].strip()
    # A field without fallback renders empty (the cheapest case); the page says so. Each URL is counted
    # as the short link that replaces it at launch.
    final = body_for_counting(render(prepared, {}))
    info = analyse(final, smart=smart)

    # Fixes are computed on what is sent, then applied to what the author typed (the fix endpoint).
    fixes: list[Fix] = []
    sent = info.body
    counts: dict[str, int] = {}
    for ch in sent:
        if ch in info.non_gsm_characters:
            counts[ch] = counts.get(ch, 0) + 1
    for ch in info.non_gsm_characters:
        replacement = SUGGESTED_REPLACEMENTS.get(ch, "")
        after = sent.replace(ch, replacement)
        fixes.append(
            Fix(
                char=ch,
                count=counts.get(ch, 0),
                replacement=replacement,
                segments_after=count_segments(after),
                encoding_after=analyse(after).encoding,
            )
        )
    all_fixed = count_segments(replace_all(sent)) if fixes else info.segments
    accents = any(is_letter(fix.char) for fix in fixes)
    without_accents = replace_all(sent, accents=True) if accents else ""

    counter = Counter(
        body=body,
        final=preview_links(info.body),
        info=info,
        stop_suffix=stop_suffix,
        has_own_stop=has_stop_mention(body),
        fixes=fixes,
        segments_if_all_fixed=all_fixed,
        without_accents=preview_links(without_accents) if accents else "",
        segments_without_accents=count_segments(without_accents) if accents else 0,
        fields_used=merge_fields(body),
        sender=check_sender(sender_id) if sender_id else None,
        too_long=len(body) > MAX_BODY,
    )
    counter.transliterate_values = transliterate_values
    if audience is not None:
        used = counter.fields_used
        options = {"fields": used, "smart": smart, "transliterate_values": transliterate_values}
        price = audience_price(audience, body_for_counting(prepared), **options)
        counter.price, counter.recipients, counter.credits = price, price.recipients, price.credits
        counter.credits_if_all_fixed = price.credits
        if fixes:
            fixed = body_for_counting(replace_all(prepared))
            counter.credits_if_all_fixed = audience_price(audience, fixed, **options).credits
    return counter


def sample_text(
    body: str, values: dict, *, stop_mention: str, category: str, smart: bool, transliterate_values: bool
) -> str:
    """The message as one recipient with ``values`` will read it (mention appended, short links shown at
    their length): the campaign page shows it beside the text as typed, whose empty merge fields read
    "Bonjour , ..." when the field has no fallback."""
    prepared = prepare_body(body, marketing=category != Category.TRANSACTIONAL, stop_mention=stop_mention)
    rendered = render_for(
        body_for_counting(prepared), values, smart=smart, transliterate_values=transliterate_values
    )
    return preview_links(rendered.body)


__all__ = ["GSM7", "UCS2", "Counter", "Fix", "compose", "replace_all", "replace_char", "sample_text"]
