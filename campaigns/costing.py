"""What a message costs over a real audience, recipient by recipient, as the composer shows it.

The composer, the estimate and the launch render the same text for each recipient
(:func:`campaigns.rendering.render_for`) and charge its segments at the recipient's regional price. Here
the audience comes grouped by the values of the merge fields the body uses
(:func:`campaigns.selectors.audience_groups`), so each distinct text is rendered once: the exact total of
100,000 recipients costs one grouped query and a few thousand renderings. Pure functions (no query).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compliance.encoding import UCS2, is_gsm7

from .rendering import FIELD_ALIASES, render_for
from .selectors import AudienceGroup


@dataclass
class Tier:
    """Recipients whose message has the same size: "3 SMS (Unicode) for 812 contacts"."""

    segments: int
    unicode: bool
    recipients: int = 0
    credits: int = 0
    # The characters outside GSM-7 that the recipients' own values bring (ë, ï, ô), and in which fields:
    # what the author can fix by transliterating the values, leaving the words of the message alone.
    chars: dict[str, None] = field(default_factory=dict)
    fields: dict[str, None] = field(default_factory=dict)

    @property
    def characters(self) -> str:
        return ", ".join(self.chars)

    @property
    def field_names(self) -> list[str]:
        return list(self.fields)


@dataclass
class AudiencePrice:
    recipients: int = 0
    credits: int = 0
    tiers: list[Tier] = field(default_factory=list)  # fewest segments first
    # The total if the values were transliterated (Noël -> Noel), when that would change it; else None.
    credits_transliterated: int | None = None

    @property
    def mixed(self) -> bool:
        """More than one size of message: the composer shows the distribution."""
        return len(self.tiers) > 1

    @property
    def values_force_unicode(self) -> bool:
        return any(tier.chars for tier in self.tiers)

    @property
    def transliteration_saves(self) -> int:
        if self.credits_transliterated is None:
            return 0
        return self.credits - self.credits_transliterated


def _value_culprits(values: Mapping[str, Any], used: Iterable[str]) -> dict[str, dict[str, None]]:
    """``{field: {char: None}}`` for the characters outside GSM-7 in the values a body uses."""
    out: dict[str, dict[str, None]] = {}
    for name in used:
        value = values.get(name)
        if value is None and name.lower() in FIELD_ALIASES:
            value = values.get(FIELD_ALIASES[name.lower()])
        text = "" if value is None else str(value)
        if text and not is_gsm7(text):
            out[name] = dict.fromkeys(ch for ch in text if not is_gsm7(ch))
    return out


def audience_price(
    groups: Iterable[AudienceGroup],
    template: str,
    *,
    fields: Iterable[str] = (),
    smart: bool = False,
    transliterate_values: bool = False,
) -> AudiencePrice:
    """The exact credits of ``template`` (the body prepared for sending: STOP mention appended, links
    at their short length) over the grouped audience, with the distribution of sizes.

    ``fields`` are the merge fields the template uses (to name the fields whose values force Unicode);
    the transliterated total is computed alongside when the author has not chosen it yet."""
    used = list(fields)
    price = AudiencePrice()
    tiers: dict[tuple[int, bool], Tier] = {}
    alternative = 0
    # When the author's own words force Unicode (an emoji), the values are not what makes it expensive.
    words_unicode = render_for(template, {}, smart=smart).encoding == UCS2
    for group in groups:
        rendered = render_for(template, group.values, smart=smart, transliterate_values=transliterate_values)
        credits = rendered.segments * group.price * group.recipients
        unicode = rendered.encoding == UCS2
        tier = tiers.setdefault((rendered.segments, unicode), Tier(rendered.segments, unicode))
        tier.recipients += group.recipients
        tier.credits += credits
        price.recipients += group.recipients
        price.credits += credits
        culprits = {}
        if unicode and not words_unicode and not transliterate_values:
            culprits = _value_culprits(group.values, used)
        for name, chars in culprits.items():
            tier.fields[name] = None
            tier.chars.update(chars)
        if culprits:
            plain = render_for(template, group.values, smart=smart, transliterate_values=True)
            alternative += plain.segments * group.price * group.recipients
        else:
            alternative += credits
    price.tiers = sorted(tiers.values(), key=lambda t: (t.segments, t.unicode))
    if alternative != price.credits:
        price.credits_transliterated = alternative
    return price
