"""Backend pages of the campaigns app: messages with their status and reason, the inbox of replies, and
the virtual phone of the sandbox. The campaign list, detail, composer and calendar live in
``campaigns/ui``."""

from __future__ import annotations

import logging
import uuid

import requests
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from smsplatform.tenancy import OrgObjectMixin, OrgPageMixin

from .models import Campaign, InboundMessage, Message, MessageStatus
from .replies import inbound_receive, inbound_review, org_inbox
from .selectors import campaign_report, org_messages, phone_numbers, phone_thread

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
            report=campaign_report(campaign) if campaign else None,
            status_filter=status,
            statuses=MessageStatus.choices,
            messages_page=list(qs.select_related("campaign")[:200]),
            language=(getattr(self.request, "LANGUAGE_CODE", "fr") or "fr")[:2],
        )
        return ctx


class InboxView(OrgPageMixin, TemplateView):
    """Replies that are not keywords, and near misses treated as opt-outs, waiting for a look."""

    template_name = "campaigns/inbox.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        qs = org_inbox(self.org).select_related("contact")
        if self.request.GET.get("all") != "1":
            qs = qs.filter(needs_review=True)
        ctx["replies"] = list(qs[:200])
        ctx["show_all"] = self.request.GET.get("all") == "1"
        return ctx


class InboxReviewView(OrgObjectMixin, View):
    model = InboundMessage

    def post(self, request, pk: int):
        inbound_review(org=self.org, actor=request.user, inbound=self.get_object())
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


class PhoneView(OrgPageMixin, TemplateView):
    """The sandbox's virtual phone: per number, what the loopback gateway received, live receipts, and a
    box to reply as the recipient (STOP, START, any text)."""

    template_name = "campaigns/phone.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        numbers = phone_numbers(self.org)
        selected = self.request.GET.get("to") or (numbers[0] if numbers else "")
        if selected and selected not in numbers:
            raise Http404
        ctx.update(numbers=numbers, selected=selected, sandbox=settings.SMS_GATEWAY == "loopback")
        ctx.update(_thread_context(self.org, selected))
        return ctx


def _thread_context(org, number: str) -> dict:
    if not number:
        return {"thread": [], "gateway_up": None}
    thread = phone_thread(org, number)
    outbound_ids = {item["id"] for item in thread if item["direction"] == "out"}
    on_gateway, up = _loopback_received(org, number, outbound_ids)
    for item in thread:
        if item["direction"] == "out":
            item["gateway"] = on_gateway.get(str(item["id"]))
    return {"thread": thread, "gateway_up": up, "selected": number}


class PhoneThreadView(OrgPageMixin, TemplateView):
    """The conversation of one number, polled by htmx every few seconds."""

    template_name = "campaigns/_phone_thread.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        number = self.request.GET.get("to", "")
        if not Message.objects.filter(org=self.org, to=number).exists():
            raise Http404
        ctx.update(_thread_context(self.org, number))
        return ctx


class PhoneReplyView(OrgPageMixin, View):
    """Reply as the recipient: through the loopback gateway's inbound path (as a real handset would),
    or straight into the inbound service when the loopback gateway is not running."""

    def post(self, request):
        number = (request.POST.get("from") or "").strip()
        text = (request.POST.get("text") or "").strip()
        last = Message.objects.filter(org=self.org, to=number).order_by("-id").values("sender").first()
        if last is None:
            raise Http404
        if not text:
            messages.error(request, _("Type a reply first."))
            return redirect(f"{reverse('campaigns:phone')}?{urlencode({'to': number})}")
        payload = {"from": number, "to": last["sender"], "text": text}
        delivered = False
        try:
            response = requests.post(f"{_loopback_url()}/inbound", json=payload, timeout=10)
            delivered = response.status_code == 200
        except requests.RequestException:
            delivered = False
        if not delivered:
            inbound_receive(
                gateway="loopback",
                provider_id=f"virtual-phone-{uuid.uuid4().hex}",
                from_number=number,
                to=last["sender"],
                text=text,
                org=self.org,
            )
            messages.warning(
                request,
                _(
                    "The loopback gateway is not running (python manage.py loopback_gateway): the reply was "
                    "recorded directly by the platform."
                ),
            )
        else:
            messages.success(request, _("Reply sent through the loopback gateway."))
        return redirect(f"{reverse('campaigns:phone')}?{urlencode({'to': number})}")
