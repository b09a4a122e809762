"""The inbox of replies: conversations per number, the reply box, the review of near misses."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from billing.services import InsufficientCredits
from campaigns.forms import InboxReplyForm
from campaigns.models import InboundMessage
from campaigns.replies import inbound_review
from campaigns.selectors import inbox_conversations, phone_thread
from campaigns.services import sms_send_transactional
from compliance.selectors import suppressed_numbers
from contacts.models import Contact
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin


class InboxView(OrgPageMixin, TemplateView):
    """Conversations per number: replies that are not keywords, and near misses treated as opt-outs until
    someone checks them. By default only conversations with a reply to check; ``?all=1`` shows all."""

    template_name = "campaigns/inbox.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        show_all = self.request.GET.get("all") == "1"
        ctx["conversations"] = inbox_conversations(self.org, to_review_only=not show_all)
        ctx["show_all"] = show_all
        return ctx


class InboxConversationView(OrgObjectMixin, TemplateView):
    """One conversation: what the organisation sent to the number of reply ``pk`` and what it answered,
    oldest first, with the near misses to mark as reviewed and a box to reply (a transactional SMS)."""

    model = InboundMessage
    template_name = "campaigns/inbox_conversation.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        inbound = self.get_object()
        ctx.update(_conversation_context(self.org, inbound))
        ctx["form"] = kwargs.get("form") or InboxReplyForm(initial={"key": uuid.uuid4().hex})
        return ctx


def _conversation_context(org, inbound: InboundMessage) -> dict:
    number = inbound.from_number
    contact = inbound.contact
    if contact is None:
        contact = Contact.objects.filter(org=org, phone=number).first()
    thread = phone_thread(org, number)
    to_review = set(
        InboundMessage.objects.filter(org=org, from_number=number, needs_review=True).values_list(
            "id", flat=True
        )
    )
    for item in thread:
        item["needs_review"] = item["direction"] == "in" and item["id"] in to_review
    return {
        "inbound": inbound,
        "number": number,
        "contact": contact,
        "thread": thread,
        "suppressed": bool(suppressed_numbers(org, [number])),
    }


class InboxReplyView(OrgObjectMixin, View):
    """Sends the reply typed in a conversation through :func:`campaigns.services.sms_send_transactional`:
    charged like any SMS, refused for a number that opted out (only the STOP confirmation may reach it)."""

    model = InboundMessage

    def post(self, request, pk: int):
        inbound = self.get_object()
        url = reverse("campaigns:inbox_conversation", args=[inbound.pk])
        form = InboxReplyForm(request.POST)
        context = _conversation_context(self.org, inbound)
        if context["suppressed"]:
            messages.error(
                request, _("This number opted out (STOP): it can receive no message, a reply included.")
            )
            return redirect(url)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(url)
        contact = context["contact"]
        try:
            sms_send_transactional(
                org=self.org,
                to=inbound.from_number,
                body=form.cleaned_data["text"],
                reason="inbox_reply",
                actor=request.user,
                contact_id=contact.pk if contact else None,
                idempotency_key=f"inbox:{form.cleaned_data['key']}",
            )
        except InsufficientCredits as exc:
            messages.error(
                request,
                _("Not enough credits: this reply needs %(needed)s, the balance is %(available)s.")
                % {"needed": exc.needed, "available": exc.available},
            )
            return redirect(url)
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
            return redirect(url)
        messages.success(request, _("Reply queued: it is sent in a few seconds."))
        return redirect(url)


class InboxReviewView(OrgObjectMixin, View):
    """Marks a reply as reviewed (a near miss stays an opt-out unless the contact sends START)."""

    model = InboundMessage

    def post(self, request, pk: int):
        inbound = self.get_object()
        inbound_review(org=self.org, actor=request.user, inbound=inbound)
        back = request.POST.get("next", "")
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)
        return redirect("campaigns:inbox")
