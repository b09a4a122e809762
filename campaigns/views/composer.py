"""The composer (step 2): the live counter, the one-click fixes, the window preview, and the tests sent
to the user's own verified number."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View

from billing.selectors import credits_balance
from billing.services import InsufficientCredits
from campaigns import own_number, selectors, test_send
from campaigns.composer import compose, replace_all, replace_char
from campaigns.forms import CampaignForm, ComposerForm, TestSendForm, sender_choices, sender_reasons
from campaigns.models import Category
from campaigns.rendering import CONTACT_FIELDS, merge_fields
from compliance.encoding import count_segments
from smsplatform.tenancy import OrgPageMixin

from ._common import _language, blocked_rows, format_local

MERGE_BUTTONS = [
    ("first_name", gettext_lazy("First name"), gettext_lazy("customer")),
    ("last_name", gettext_lazy("Last name"), ""),
    ("city", gettext_lazy("City"), ""),
]


class ComposerContextMixin:
    """What the composer needs around the form: merge fields, senders, templates, the audience."""

    def composer_context(self, form, campaign=None) -> dict:
        org = self.org
        counter = self.counter_for(
            body=form["body"].value() or "",
            category=form["category"].value() or Category.MARKETING,
            smart=bool(form["smart_encoding"].value()),
            transliterate_values=bool(form["transliterate_merge_values"].value()),
            sender_id=form["sender_id"].value() or "",
            list_ids=form["list_ids"].value() or [],
            segment_ids=form["segment_ids"].value() or [],
        )
        templates = list(selectors.org_templates(org).values("id", "name", "body")[:200])
        attributes = [key for key in selectors.merge_attribute_keys(org) if key not in CONTACT_FIELDS]
        return {
            "form": form,
            "campaign": campaign,
            "counter": counter,
            "stop_mention": org.stop_mention,
            "merge_buttons": MERGE_BUTTONS,
            "attribute_keys": attributes,
            "sender_options": sender_choices(org),
            "templates": templates,
            "templates_json": [{"id": t["id"], "name": t["name"], "body": t["body"]} for t in templates],
            "org_zone": org.timezone or "Europe/Paris",
            "balance": credits_balance(org),
        }

    def counter_for(self, *, body, category, smart, transliterate_values, sender_id, list_ids, segment_ids):
        audience = None
        if list_ids or segment_ids:
            audience = self.audience_for(list_ids, segment_ids, merge_fields(body))
        counter = compose(
            body=body,
            stop_mention=self.org.stop_mention,
            category=category,
            smart=smart,
            sender_id=sender_id,
            audience=audience,
            transliterate_values=transliterate_values,
        )
        counter.sender_messages = sender_reasons(counter.sender) if counter.sender else []
        return counter

    def audience_for(self, list_ids, segment_ids, fields):
        """The audience grouped by the values of ``fields``, kept a few seconds: the counter asks again
        at every pause in the typing, and at 100,000 contacts the grouped query is most of its time
        (bench/composer_cost.py). The estimate and the launch always read the contacts afresh."""
        ids = (sorted(map(str, list_ids)), sorted(map(str, segment_ids)), sorted(fields))
        key = f"composer-audience:{self.org.pk}:{hashlib.sha256(repr(ids).encode()).hexdigest()}"
        return cache.get_or_set(
            key,
            lambda: selectors.audience_groups(self.org, list_ids, segment_ids, fields),
            AUDIENCE_CACHE_SECONDS,
        )


#: How long the counter reuses an audience's grouped values (see ``audience_for``).
AUDIENCE_CACHE_SECONDS = 20


class ComposerCounterView(ComposerContextMixin, OrgPageMixin, View):
    """The live counter (htmx, on input, debounced): characters, encoding, segments, credits, culprits."""

    required_capability = "read"

    def post(self, request):
        lists, segments = selectors.audience_choices(self.org)
        form = ComposerForm(request.POST, org=self.org, lists=lists, segments=segments)
        form.is_valid()  # every field is optional; invalid ids are simply ignored
        data = form.cleaned_data
        counter = self.counter_for(
            body=request.POST.get("body", ""),
            category=data.get("category") or Category.MARKETING,
            smart=bool(data.get("smart_encoding")),
            transliterate_values=bool(data.get("transliterate_merge_values")),
            sender_id=(data.get("sender_id") or "").strip(),
            list_ids=data.get("list_ids") or [],
            segment_ids=data.get("segment_ids") or [],
        )
        return render(
            request, "campaigns/ui/_counter.html", {"counter": counter, "balance": credits_balance(self.org)}
        )


class ComposerFixView(OrgPageMixin, View):
    """The one-click fix: the body with one character (or every UCS-2 culprit) replaced.

    JSON ``{body, before, after}`` (segments); the composer's script puts ``body`` back in the text area
    and the counter refreshes. Nothing is stored: the author still saves the campaign.
    """

    required_capability = "read"

    def post(self, request):
        body = request.POST.get("body", "")
        char = request.POST.get("char", "")
        if request.POST.get("all"):
            # Accented letters only on the explicit choice ("accents"): the one-click fix keeps the words.
            fixed = replace_all(body, accents=request.POST["all"] == "accents")
        else:
            if len(char) != 1:
                return JsonResponse({"detail": _("Choose one character to replace.")}, status=400)
            fixed = replace_char(body, char)
        return JsonResponse({"body": fixed, "before": count_segments(body), "after": count_segments(fixed)})


class ComposerWindowView(OrgPageMixin, View):
    """What the gate would do with the chosen audience at the chosen date and time (htmx, read only)."""

    required_capability = "read"

    def post(self, request):
        lists, segments = selectors.audience_choices(self.org)
        form = CampaignForm(request.POST, org=self.org, lists=lists, segments=segments)
        form.is_valid()
        data = form.cleaned_data
        preview = None
        at = data.get("scheduled_at")
        if data.get("when") == "later" and at is not None:
            preview = selectors.window_preview(
                self.org,
                list_ids=data.get("list_ids") or [],
                segment_ids=data.get("segment_ids") or [],
                at=at,
                category=data.get("category") or Category.MARKETING,
                language=_language(),
            )
        return render(
            request,
            "campaigns/ui/_window_preview.html",
            {
                "preview": preview,
                "until": format_local(preview.deferred_until, self.org) if preview else "",
                "blocked": blocked_rows(preview.blocked) if preview else [],
            },
        )


def _refusal(request, template: str, context: dict, exc: Exception, short_of_credits: str):
    """The partial again, saying what went wrong: 400 for bad input, 402 with a link to buy credits."""
    if isinstance(exc, InsufficientCredits):
        context.update(error=short_of_credits, buy=True)
        return render(request, template, context, status=exc.http_status)
    context["error"] = " ".join(exc.messages)
    return render(request, template, context, status=400)


class TestSendView(OrgPageMixin, View):
    """A test of the message to the user's own verified mobile, rendered for the contact of the audience
    the user picked (or with the fallbacks), STOP mention and real short link included; it leaves at
    once, free up to a daily number (campaigns.test_send)."""

    def post(self, request):
        lists, segments = selectors.audience_choices(self.org)
        form = TestSendForm(request.POST, lists=lists, segments=segments)
        form.is_valid()  # every field is optional; an invalid one is simply left out
        data = form.cleaned_data
        context: dict = {"sent": None, "error": ""}
        try:
            message = test_send.test_send(
                org=self.org,
                user=request.user,
                body=data.get("body") or "",
                category=data.get("category"),
                smart_encoding=bool(data.get("smart_encoding")),
                transliterate_values=bool(data.get("transliterate_merge_values")),
                audience=(data.get("list_ids") or [], data.get("segment_ids") or []),
                contact_id=data.get("contact_id"),
            )
        except (ValidationError, InsufficientCredits) as exc:
            short = _("Not enough credits for a test.")
            return _refusal(request, "campaigns/ui/_test_send.html", context, exc, short)
        context.update(sent=message, to=message.to, free_left=test_send.free_tests_left(self.org))
        return render(request, "campaigns/ui/_test_send.html", context)


class TestContactsView(OrgPageMixin, View):
    """The contacts of the chosen audience a test can be rendered for (htmx, when the test box opens or
    the audience changes): a select, names that may cost more first."""

    required_capability = "read"

    def post(self, request):
        lists, segments = selectors.audience_choices(self.org)
        form = ComposerForm(request.POST, org=self.org, lists=lists, segments=segments)
        form.is_valid()
        data = form.cleaned_data
        contacts = selectors.audience_sample(
            self.org, data.get("list_ids") or [], data.get("segment_ids") or []
        )
        context = {"contacts": contacts, "free_left": test_send.free_tests_left(self.org)}
        return render(request, "campaigns/ui/_test_contacts.html", context)


class OwnNumberCodeView(OrgPageMixin, View):
    """Step 1 of verifying the user's test number: a code sent to it by SMS."""

    def post(self, request):
        context: dict = {"stage": "phone", "error": "", "phone": request.POST.get("phone", "")}
        try:
            context["pending"] = own_number.own_number_code_send(
                org=self.org, user=request.user, phone=context["phone"]
            )
        except (ValidationError, InsufficientCredits) as exc:
            short = _("Not enough credits to send the code.")
            return _refusal(request, "campaigns/ui/_test_box.html", context, exc, short)
        context["stage"] = "code"
        return render(request, "campaigns/ui/_test_box.html", context)


class OwnNumberConfirmView(OrgPageMixin, View):
    """Step 2: the code typed back; the number then receives the tests."""

    def post(self, request):
        context: dict = {"stage": "code", "error": "", "pending": request.user.test_phone_pending}
        try:
            own_number.own_number_confirm(org=self.org, user=request.user, code=request.POST.get("code", ""))
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return render(request, "campaigns/ui/_test_box.html", context, status=400)
        context.update(stage="verified", verified_now=True)
        return render(request, "campaigns/ui/_test_box.html", context)
