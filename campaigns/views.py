"""Backend pages of the campaigns app: messages with their status and reason, the inbox of replies, and
the virtual phone of the sandbox. The campaign list, detail, composer and calendar live in
``campaigns/ui``."""

from __future__ import annotations

import logging
import uuid

import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from analytics.selectors import campaign_report as analytics_report
from billing.services import InsufficientCredits
from compliance.selectors import suppressed_numbers
from contacts.models import Contact
from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin

from .forms import InboxReplyForm
from .models import Campaign, InboundMessage, MessageStatus
from .replies import inbound_receive, inbound_review
from .selectors import (
    VIRTUAL_PHONE_GATEWAY,
    inbox_conversations,
    org_messages,
    phone_last_sender,
    phone_numbers,
    phone_thread,
)
from .services import sms_send_transactional

logger = logging.getLogger(__name__)


class MessagesView(OrgPageMixin, TemplateView):
    """What each recipient was sent, with its status and the gate's reason (``?campaign=``, ``?status=``)."""

    template_name = "campaigns/messages.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET
        campaign = None
        if params.get("campaign", "").isdigit():
            campaign = Campaign.objects.filter(org=self.org, pk=int(params["campaign"])).first()
            if campaign is None:
                raise Http404
        status = params.get("status") if params.get("status") in MessageStatus.values else ""
        qs = org_messages(self.org, campaign_id=campaign.pk if campaign else None, status=status or None)
        ctx.update(
            campaign=campaign,
            report=analytics_report(self.org, campaign) if campaign else None,
            status_filter=status,
            statuses=MessageStatus.choices,
            messages_page=list(qs.select_related("campaign")[:200]),
            language=(getattr(self.request, "LANGUAGE_CODE", "fr") or "fr")[:2],
        )
        return ctx


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


# --- virtual phone ---------------------------------------------------------------------------------


def _loopback_url() -> str:
    return getattr(settings, "LOOPBACK_GATEWAY_URL", "http://127.0.0.1:8025").rstrip("/")


def _loopback_received(org, number: str, message_ids: set[int]) -> tuple[dict[str, dict], bool]:
    """What the loopback gateway holds for this number, restricted to this organisation's messages
    (another organisation may text the same number), keyed by our message id; and whether it answered."""
    try:
        response = requests.get(f"{_loopback_url()}/messages", params={"to": number}, timeout=2)
        response.raise_for_status()
        rows = response.json()
    except (requests.RequestException, ValueError):
        return {}, False
    return {
        row["client_ref"]: row
        for row in rows
        if row.get("client_ref", "").isdigit() and int(row["client_ref"]) in message_ids
    }, True


class SandboxOnlyMixin:
    """After :class:`OrgPageMixin` in the bases: the virtual phone does not exist for an organisation on a
    real gateway (404), since a reply typed there would act on real handsets' consent (START lifting a
    real opt-out) and make the real provider send free SMS (HELP)."""

    def dispatch(self, request, *args, **kwargs):
        if not self.org.on_sandbox:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PhoneView(OrgPageMixin, SandboxOnlyMixin, TemplateView):
    """The sandbox's virtual phone: per number texted through the loopback gateway, what it received,
    live receipts, and a box to reply as the recipient (STOP, START, any text)."""

    template_name = "campaigns/phone.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        numbers = phone_numbers(self.org)
        selected = self.request.GET.get("to") or (numbers[0] if numbers else "")
        if selected and selected not in numbers:
            raise Http404
        ctx.update(
            numbers=numbers, selected=selected, on_loopback=self.org.gateway_name == VIRTUAL_PHONE_GATEWAY
        )
        ctx.update(_thread_context(self.org, selected))
        return ctx


def _thread_context(org, number: str) -> dict:
    if not number:
        return {"thread": [], "gateway_up": None}
    thread = phone_thread(org, number, gateway=VIRTUAL_PHONE_GATEWAY)
    outbound_ids = {item["id"] for item in thread if item["direction"] == "out"}
    on_gateway, up = _loopback_received(org, number, outbound_ids)
    for item in thread:
        if item["direction"] == "out":
            item["gateway"] = on_gateway.get(str(item["id"]))
    return {"thread": thread, "gateway_up": up, "selected": number}


class PhoneThreadView(OrgPageMixin, SandboxOnlyMixin, TemplateView):
    """The conversation of one number, polled by htmx every few seconds."""

    template_name = "campaigns/_phone_thread.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        number = self.request.GET.get("to", "")
        if phone_last_sender(self.org, number) is None:
            raise Http404
        ctx.update(_thread_context(self.org, number))
        return ctx


# The reply box's maxlength: four concatenated SMS, far more than any keyword or test needs.
PHONE_REPLY_MAX_LENGTH = 640


class PhoneReplyView(OrgPageMixin, SandboxOnlyMixin, View):
    """Reply as the recipient of a number the organisation texted through the loopback gateway: handled
    by the inbound service like a handset's reply, and recorded for this organisation. It does not go
    through the loopback gateway's inbound webhook, which carries no organisation: the reply would be
    routed by number and sender, possibly to another organisation that texted the same number."""

    def post(self, request):
        number = (request.POST.get("from") or "").strip()
        text = (request.POST.get("text") or "").strip()
        sender = phone_last_sender(self.org, number)
        if sender is None:
            raise Http404
        back = f"{reverse('campaigns:phone')}?{urlencode({'to': number})}"
        if not text:
            messages.error(request, _("Type a reply first."))
            return redirect(back)
        if len(text) > PHONE_REPLY_MAX_LENGTH:
            messages.error(
                request,
                _("A reply holds at most %(max)s characters.") % {"max": PHONE_REPLY_MAX_LENGTH},
            )
            return redirect(back)
        inbound_receive(
            gateway=VIRTUAL_PHONE_GATEWAY,
            provider_id=f"virtual-phone-{uuid.uuid4().hex}",
            from_number=number,
            to=sender,
            text=text,
            org=self.org,
        )
        messages.success(request, _("Reply received by the platform, as if the handset had sent it."))
        return redirect(back)
