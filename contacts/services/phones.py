"""Phone numbers typed by people or sent by the API, and the recipient context computed from them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from compliance.context import recipient_context
from smsplatform.models import Organisation

from ..importing.phones import PHONE_ERROR_MESSAGES, normalise_phone


def phone_error_message(code: str) -> str:
    """A translated sentence for a phone error code of the parsing engine."""
    return str(PHONE_ERROR_MESSAGES.get(code or "invalid") or _("This is not a valid mobile phone number."))


def phone_normalise(*, org: Organisation, raw: str) -> str:
    """The E.164 form of a number typed by a person or sent by the API, with the organisation's country
    as default region; raises ValidationError ``{"phone": [...]}`` when it is not a mobile number."""
    result = normalise_phone(str(raw or ""), org.country or "FR")
    if not result.e164:
        raise ValidationError({"phone": [phone_error_message(getattr(result, "error", "") or "invalid")]})
    return result.e164


class ContextCache:
    """Recipient contexts for a batch: the context depends on the number's prefix and, in France, on
    the first two digits of the postal code; computing it once per key keeps an import fast."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[str, str, str]] = {}

    def get(self, phone: str, postal_code: str = "") -> tuple[str, str, str]:
        # The context depends on the postal code in mainland France only, on the area code in NANP,
        # on 639/692 in +262; elsewhere the country code and first digits are enough.
        if phone.startswith("+33"):
            key = ("+33", (postal_code or "").strip()[:2])
        elif phone.startswith("+1"):
            key = (phone[:5], "")
        else:
            key = (phone[:7], "")
        value = self._cache.get(key)
        if value is None:
            value = recipient_context_tuple(phone, key[1])
            if len(self._cache) < 100_000:
                self._cache[key] = value
        return value


def recipient_context_tuple(phone: str, postal_code: str = "") -> tuple[str, str, str]:
    """(region, timezone, calendar) of a number; empty strings when the number has no region."""
    try:
        ctx = recipient_context(phone, postal_code or "")
    except ValueError:
        return ("", "", "")
    return (ctx.region[:4], ctx.timezone[:100], ctx.calendar[:32])
