"""The sandbox's virtual phone: what a number texted through the loopback gateway received, and replies
typed as its recipient."""

from __future__ import annotations

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

from campaigns.replies import inbound_receive
from campaigns.selectors import VIRTUAL_PHONE_GATEWAY, phone_last_sender, phone_numbers, phone_thread
from smsplatform.tenancy import OrgPageMixin


def _loopback_url() -> str:
    return settings.LOOPBACK_GATEWAY_URL.rstrip("/")


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
