import re
from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .gate import MARKETING, TRANSACTIONAL
from .packs import (
    BLOCKED,
    SUNDAY,
    WEEKDAYS,
    _parse_interval,
    format_interval,
    get_pack,
    pack_choices,
    parse_restrictions,
)
from .selectors import org_restrictions
from .wording import WEEKDAY_NAMES


class CheckerForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=32)
    postal_code = forms.CharField(label=_("Postal code (optional)"), max_length=10, required=False)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        label=_("Time (your organisation's time zone)"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    category = forms.ChoiceField(
        label=_("Kind of message"),
        choices=[(MARKETING, _("Marketing")), (TRANSACTIONAL, _("Transactional"))],
        initial=MARKETING,
    )


# --- the organisation's own, stricter rules --------------------------------------------------------

_HOUR_H = re.compile(r"(\d{1,2})\s*[hH]\s*(\d{2})?")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d-%m-%Y")
MAX_BLOCKED_DATES = 400


def _normalise_hours(text: str) -> list[str]:
    """ "9h-12h et 14h30-19h" -> ["9:00-12:00", "14:30-19:00"]: what a shop owner types, as ranges."""
    text = _HOUR_H.sub(lambda m: f"{m.group(1)}:{m.group(2) or '00'}", text or "")
    parts = re.split(r"[,;/&+]|(?:\s|(?<=\d))(?:et|and)(?=\s|\d)", text)
    return [re.sub(r"\s*[-–—à]\s*|\s+to\s+", "-", p.strip()) for p in parts if p.strip()]


def _parse_date(text: str) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(
        _("“%(value)s” is not a date: write it as DD/MM/YYYY."), code="invalid_date", params={"value": text}
    )


class SendingRulesForm(forms.Form):
    """The organisation's pack and its own restrictions, which may only make the pack stricter.

    Validates the shape of each field; whether the result is stricter than the chosen pack is decided by
    :func:`compliance.services.sending_rules_update`, whose errors the view puts back on the form.
    """

    rule_pack = forms.ChoiceField(
        label=_("Rule pack"),
        help_text=_("The rules your messages follow; your own rules below can only make them stricter."),
    )
    hours = forms.CharField(
        label=_("Your sending hours, every open day"),
        required=False,
        max_length=100,
        help_text=_(
            "For example 09:00-19:00, or 09:00-12:00, 14:00-19:00 for a lunch break. Leave empty to keep "
            "the hours of the rule pack."
        ),
    )
    closed_weekdays = forms.MultipleChoiceField(
        label=_("Weekly closing days (no marketing SMS)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(code, name) for code, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)],
    )
    blocked_dates = forms.CharField(
        label=_("Closing dates and holidays of your own"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One date per line or separated by commas, as DD/MM/YYYY."),
    )
    max_per_24h = forms.IntegerField(
        label=_("At most this many marketing SMS per contact per 24 hours"), required=False, min_value=1
    )
    max_per_7d = forms.IntegerField(
        label=_("At most this many marketing SMS per contact per rolling 7 days"), required=False, min_value=1
    )
    block_discouraged = forms.BooleanField(
        label=_("Also refuse the Sundays and public holidays that the rule pack only discourages"),
        required=False,
    )

    def __init__(self, *args, org, **kwargs):
        self.org = org
        super().__init__(*args, **kwargs)
        self.fields["rule_pack"].choices = pack_choices()
        for code, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True):
            self.fields[f"hours_{code}"] = forms.CharField(
                label=capfirst(name), required=False, max_length=100
            )
        if not self.is_bound:
            self.initial = {**self.initial_from(org), **self.initial}

    # -- display -------------------------------------------------------------------------------------

    @staticmethod
    def initial_from(org) -> dict[str, Any]:
        pack = get_pack(org.rule_pack)
        stored = org_restrictions(org)
        try:
            r = parse_restrictions(stored)
        except ValidationError:
            r = parse_restrictions({})
        initial: dict[str, Any] = {
            "rule_pack": pack.code,
            "closed_weekdays": [WEEKDAYS[i] for i in sorted(r.closed_weekdays)],
            "blocked_dates": "\n".join(d.strftime("%d/%m/%Y") for d in sorted(r.blocked_dates)),
            "max_per_24h": r.max_per_24h,
            "max_per_7d": r.max_per_7d,
            "block_discouraged": r.block_discouraged,
        }
        texts = {i: ", ".join(format_interval(iv) for iv in day) for i, day in r.windows.items()}
        open_days = [
            i for i, day in enumerate(pack.windows) if day and not (i == SUNDAY and pack.sunday == BLOCKED)
        ]
        if texts and set(texts) == set(open_days) and len(set(texts.values())) == 1:
            initial["hours"] = next(iter(texts.values()))
        else:
            initial.update({f"hours_{WEEKDAYS[i]}": text for i, text in texts.items()})
        return initial

    def day_fields(self):
        return [self[f"hours_{code}"] for code in WEEKDAYS]

    def day_fields_used(self) -> bool:
        return any(field.value() or field.errors for field in self.day_fields())

    def main_fields(self):
        return [self["rule_pack"], self["hours"]]

    def other_fields(self):
        names = ("closed_weekdays", "blocked_dates", "max_per_24h", "max_per_7d", "block_discouraged")
        return [self[name] for name in names]

    # -- validation ----------------------------------------------------------------------------------

    def _clean_hours_text(self, name: str) -> list[str]:
        ranges = _normalise_hours(self.cleaned_data.get(name) or "")
        for text in ranges:
            _parse_interval(text)  # raises a ValidationError naming the bad range
        return ranges

    def clean_hours(self) -> list[str]:
        return self._clean_hours_text("hours")

    def clean_blocked_dates(self) -> list[str]:
        text = self.cleaned_data.get("blocked_dates") or ""
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        if len(parts) > MAX_BLOCKED_DATES:
            raise ValidationError(
                _("At most %(count)s closing dates."), code="too_many", params={"count": MAX_BLOCKED_DATES}
            )
        errors, dates = [], set()
        for part in parts:
            try:
                dates.add(_parse_date(part))
            except ValidationError as exc:
                errors.append(exc)
        if errors:
            raise ValidationError(errors)
        return [d.isoformat() for d in sorted(dates)]

    def clean(self):
        cleaned = super().clean()
        for code in WEEKDAYS:
            name = f"hours_{code}"
            if name in cleaned:
                try:
                    cleaned[name] = self._clean_hours_text(name)
                except ValidationError as exc:
                    self.add_error(name, exc)
        pack = get_pack(cleaned.get("rule_pack"))
        common = cleaned.get("hours") or []
        windows: dict[str, list[str]] = {}
        for i, code in enumerate(WEEKDAYS):
            own = cleaned.get(f"hours_{code}") or []
            pack_open = bool(pack.windows[i]) and not (i == SUNDAY and pack.sunday == BLOCKED)
            if own:
                windows[code] = own
            elif common and pack_open:
                windows[code] = common
        restrictions: dict[str, Any] = {}
        if windows:
            restrictions["windows"] = windows
        if cleaned.get("closed_weekdays"):
            restrictions["closed_weekdays"] = list(cleaned["closed_weekdays"])
        if cleaned.get("blocked_dates"):
            restrictions["blocked_dates"] = cleaned["blocked_dates"]
        for name in ("max_per_24h", "max_per_7d"):
            if cleaned.get(name) is not None:
                restrictions[name] = cleaned[name]
        if cleaned.get("block_discouraged"):
            restrictions["block_discouraged"] = True
        self.restrictions = restrictions
        return cleaned

    def add_policy_errors(self, error: ValidationError) -> None:
        """Puts the errors of ``sending_rules_update`` on the field they concern."""
        for item in error.error_list:
            setting = (item.params or {}).get("setting")
            if setting in ("max_per_24h", "max_per_7d"):
                self.add_error(setting, item)
            elif setting == "windows" and self.cleaned_data.get("hours"):
                self.add_error("hours", item)
            else:
                self.add_error(None, item)


# --- sender IDs ------------------------------------------------------------------------------------


class SenderRequestForm(forms.Form):
    name = forms.CharField(
        label=_("Sender ID"),
        max_length=32,
        help_text=_("3 to 11 letters or digits (your brand), or your 5-digit short code (36xxx or 38xxx)."),
    )
    proof = forms.FileField(
        label=_("Proof that the name is yours (optional in the sandbox)"),
        required=False,
        help_text=_(
            "A Kbis extract, a trademark registration or an invoice in your name: PDF, PNG or JPEG, "
            "5 MB at most."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )


class SenderProofForm(forms.Form):
    proof = forms.FileField(
        label=_("Proof that the name is yours"),
        help_text=_("PDF, PNG or JPEG, 5 MB at most."),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )
