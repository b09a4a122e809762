"""Gateway webhooks: delivery receipts and inbound replies (docs/api.md, "Webhooks").

Authenticated per gateway by the adapter's ``verify_webhook`` (HMAC for loopback, Twilio's own scheme
for Twilio): an unsigned or badly signed call is refused with 403 before anything is read. The effects
are idempotent (receipts only move a message forward; inbound rows are unique per provider id), so a
provider that replays a webhook changes nothing. No session, no CSRF: the signature is the credential.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .gateways import GatewayConfigurationError, WebhookError, get_gateway
from .pipeline import receipts_apply
from .replies import inbound_receive

logger = logging.getLogger(__name__)


def _verified_gateway(request: HttpRequest, gateway: str):
    try:
        adapter = get_gateway(gateway)
    except GatewayConfigurationError:
        raise Http404
    if adapter.name != gateway:
        raise Http404
    return adapter if adapter.verify_webhook(request) else None


@csrf_exempt
@require_POST
def status_webhook(request: HttpRequest, gateway: str) -> JsonResponse:
    """Delivery receipts: delivered / undelivered, matched by provider id (or our client reference)."""
    adapter = _verified_gateway(request, gateway)
    if adapter is None:
        return JsonResponse({"detail": "Invalid signature.", "code": "invalid_signature"}, status=403)
    try:
        receipts = adapter.parse_receipts(request)
    except WebhookError as exc:
        return JsonResponse({"detail": str(exc), "code": "malformed"}, status=400)
    updated = receipts_apply(gateway=gateway, receipts=receipts)
    return JsonResponse({"received": len(receipts), "updated": updated})


@csrf_exempt
@require_POST
def inbound_webhook(request: HttpRequest, gateway: str) -> JsonResponse:
    """Replies from handsets: kept, and STOP / START / HELP acted on at once."""
    adapter = _verified_gateway(request, gateway)
    if adapter is None:
        return JsonResponse({"detail": "Invalid signature.", "code": "invalid_signature"}, status=403)
    try:
        messages = adapter.parse_inbound(request)
    except WebhookError as exc:
        return JsonResponse({"detail": str(exc), "code": "malformed"}, status=400)
    created = 0
    for sms in messages:
        _, new = inbound_receive(
            gateway=gateway,
            provider_id=sms.provider_id,
            from_number=sms.from_,
            to=sms.to,
            text=sms.text,
            received_at=sms.received_at,
        )
        created += int(new)
    return JsonResponse({"received": len(messages), "created": created})
