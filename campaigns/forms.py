"""Forms of the campaign pages (the composer, templates, tests, the inbox reply). They validate input and
convert it (ids, the organisation's local time); the services validate the domain again and write."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from campaigns.models import Category
from compliance import sender_registry, senders
from smsplatform.timezones import timezone_label

from .composer import MAX_BODY

# compliance.senders reason codes in words the translators see (the module's own texts are English).
SENDER_REASONS = {
    senders.SENDER_EMPTY: _("A sender is required."),
    senders.SENDER_FORMAT: _(
        "A sender ID has 3 to 11 letters or digits, at least one letter, no space or punctuation."
    ),
    senders.SENDER_SHORT_CODE_RANGE: _(
        "A numeric sender must be a 5-digit short code starting with 36 or 38."
    ),
    senders.SENDER_ALL_DIGITS: _(
        "A sender ID cannot be all digits unless it is a 5-digit short code (36xxx or 38xxx)."
    ),
    senders.SENDER_GENERIC: _("Generic words (INFO, SMS, ALERTE, RDV...) cannot be used as a sender ID."),
    senders.SENDER_OPERATOR: _("Operator names (ORANGE, SFR, BOUYGUES, FREE) cannot be used as a sender ID."),
    senders.SENDER_MOBILE_NUMBER: _(
        "A French mobile number (06/07, or a DOM mobile) cannot send A2P SMS (ARCEP decisions 2018-0881 "
        "and 2022-1583)."
    ),
}

WHEN_NOW, WHEN_LATER = "now", "later"


def sender_reasons(check: senders.SenderCheck) -> list[str]:
    return [str(SENDER_REASONS.get(code, code)) for code in check.reasons]


def org_zone(org) -> ZoneInfo:
    try:
        return ZoneInfo(org.timezone or "Europe/Paris")
    except Exception:  # noqa: BLE001 - a broken setting must not break the page
        return ZoneInfo("Europe/Paris")


def parse_instant(value: str, org) -> datetime | None:
    """An ISO date-time; without an offset it is a wall time in the organisation's time zone (what the
    calendar sends: it displays the organisation's time, whatever the browser's zone)."""
    value = (value or "").strip()
    if value.endswith("Z") and "T" in value and value.count(":") >= 1 and "+" not in value:
        value = value[:-1] + "+00:00"
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=org_zone(org))
    return parsed


def sender_choices(org) -> list[str]:
    """The senders the organisation may use: its default (its default sender ID, else its brand) when
    the registry lets it, then the other sender IDs it holds approved."""
    out: list[str] = []
    default = sender_registry.default_sender_name(org)
    if default and not sender_registry.sender_refusal(org, default):
        out.append(default)
    for sender in sender_registry.org_senders(org).filter(status="approved"):
        if sender.name.upper() not in {o.upper() for o in out} and sender_registry.approved_for_sending(
            org, sender
        ):
            out.append(sender.name)
    return out


class _AudienceMixin:
    def _setup_audience(self, org, lists, segments):
        self.fields["list_ids"].choices = [(str(pk), f"{name} ({count})") for pk, name, count in lists]
        self.fields["segment_ids"].choices = [(str(pk), name) for pk, name in segments]


class ComposerForm(_AudienceMixin, forms.Form):
    """What the live counter reads: every field optional (the author is typing)."""

    body = forms.CharField(required=False, strip=False)
    category = forms.ChoiceField(choices=Category.choices, required=False)
    sender_id = forms.CharField(required=False, max_length=20)
    smart_encoding = forms.BooleanField(required=False)
    transliterate_merge_values = forms.BooleanField(required=False)
    list_ids = forms.MultipleChoiceField(required=False)
    segment_ids = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, org, lists=(), segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_audience(org, lists, segments)


class CampaignForm(_AudienceMixin, forms.Form):
    name = forms.CharField(
        label=_("Campaign name"),
        max_length=200,
        help_text=_('Only you see it, e.g. "Spring sale".'),
    )
    body = forms.CharField(
        label=_("Message"),
        strip=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6, "aria-describedby": "composer-counter"}),
    )
    category = forms.ChoiceField(
        label=_("Kind of message"),
        choices=Category.choices,
        initial=Category.MARKETING,
        widget=forms.RadioSelect,
        help_text=_(
            "Marketing: offers and news (sending hours, consent and the STOP mention apply). "
            "Transactional: order or appointment notices only; the platform's operator approves it before it "
            "can be launched."
        ),
    )
    sender_id = forms.CharField(
        label=_("Sender ID"),
        max_length=11,
        required=False,
        help_text=_("What the recipient sees as the sender: your brand, 3 to 11 letters or digits."),
    )
    smart_encoding = forms.BooleanField(
        label=_("Replace typographic quotes, dashes and special spaces automatically"), required=False
    )
    transliterate_merge_values = forms.BooleanField(
        label=_("Write customers' names and fields without the accents SMS lack (Noël → Noel)"),
        required=False,
        help_text=_("Only the values of the merge fields change; your own words keep their accents."),
    )
    list_ids = forms.MultipleChoiceField(
        label=_("Lists"), required=False, widget=forms.CheckboxSelectMultiple
    )
    segment_ids = forms.MultipleChoiceField(
        label=_("Segments"), required=False, widget=forms.CheckboxSelectMultiple
    )
    when = forms.ChoiceField(
        label=_("When"),
        choices=[(WHEN_NOW, _("As soon as I launch it")), (WHEN_LATER, _("At a date and time"))],
        initial=WHEN_NOW,
        widget=forms.RadioSelect,
    )
    scheduled_date = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    scheduled_time = forms.TimeField(
        label=_("Time"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    def __init__(self, *args, org, lists=(), segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self._setup_audience(org, lists, segments)
        self.fields["scheduled_time"].help_text = _("Time in %(zone)s.") % {
            "zone": timezone_label(org.timezone or "Europe/Paris")
        }

    @classmethod
    def initial_for(cls, campaign, org) -> dict:
        initial = {
            "name": campaign.name,
            "body": campaign.body,
            "category": campaign.category,
            "sender_id": campaign.sender_id,
            "smart_encoding": campaign.smart_encoding,
            "transliterate_merge_values": campaign.transliterate_merge_values,
            "list_ids": [str(i) for i in campaign.list_ids or []],
            "segment_ids": [str(i) for i in campaign.segment_ids or []],
            "when": WHEN_LATER if campaign.scheduled_at else WHEN_NOW,
        }
        if campaign.scheduled_at:
            local = campaign.scheduled_at.astimezone(org_zone(org))
            initial["scheduled_date"] = local.date()
            initial["scheduled_time"] = local.time().replace(second=0, microsecond=0)
        return initial

    def clean_sender_id(self):
        value = (self.cleaned_data.get("sender_id") or "").strip()
        if value:
            check = senders.check_sender(value)
            if not check.ok:
                raise forms.ValidationError(sender_reasons(check))
            # Shown in place; the service decides again (and registers a free name in the sandbox).
            refusal = sender_registry.sender_refusal(self.org, value)
            if refusal:
                raise forms.ValidationError(refusal, code=sender_registry.SENDER_NOT_APPROVED)
        return value

    def clean(self):
        data = super().clean()
        data["scheduled_at"] = None
        if data.get("when") == WHEN_LATER:
            day, time = data.get("scheduled_date"), data.get("scheduled_time")
            if not day:
                self.add_error("scheduled_date", _("Choose the date."))
            if not time:
                self.add_error("scheduled_time", _("Choose the time."))
            if day and time:
                at = datetime.combine(day, time).replace(tzinfo=org_zone(self.org))
                if at <= timezone.now() + timedelta(minutes=1):
                    self.add_error("scheduled_date", _("Choose a date and time in the future."))
                data["scheduled_at"] = at
        return data

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "body": data["body"],
            "sender_id": data.get("sender_id") or "",
            "category": data.get("category") or Category.MARKETING,
            "list_ids": [int(i) for i in data.get("list_ids") or []],
            "segment_ids": [int(i) for i in data.get("segment_ids") or []],
            "scheduled_at": data.get("scheduled_at"),
            "smart_encoding": bool(data.get("smart_encoding")),
            "transliterate_merge_values": bool(data.get("transliterate_merge_values")),
        }


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=100)
    body = forms.CharField(label=_("Message"), strip=False, widget=forms.Textarea(attrs={"rows": 4}))


class TestSendForm(forms.Form):
    """What the composer sends along with a test; the number is the user's verified one, never posted."""

    body = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    category = forms.ChoiceField(choices=Category.choices, required=False)
    smart_encoding = forms.BooleanField(required=False)
    transliterate_merge_values = forms.BooleanField(required=False)
    contact_id = forms.IntegerField(required=False)
    # The composer's audience (checked again by the service: a contact outside it is refused).
    list_ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    segment_ids = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, lists=(), segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["list_ids"].choices = [(str(pk), name) for pk, name, _count in lists]
        self.fields["segment_ids"].choices = [(str(pk), name) for pk, name in segments]


#: A reply is one conversation message, not a campaign: four segments at most.
REPLY_MAX_LENGTH = 640


class InboxReplyForm(forms.Form):
    """A reply to a contact from the inbox. ``key`` is issued with the form and becomes the message's
    idempotency key, so that a double click or a resubmitted page sends one SMS."""

    text = forms.CharField(
        label=_("Your reply"),
        max_length=REPLY_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "data-testid": "inbox-reply-text"}),
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise forms.ValidationError(_("This form has expired: reload the page."))
        return key
