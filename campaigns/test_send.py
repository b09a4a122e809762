"""The composer's test: the message as one real recipient of the audience will read it, with its real
short link, sent to the user's own verified mobile (:mod:`campaigns.own_number`).

A test is how an owner checks a first name, an accent and a link before a campaign leaves, so it is free
up to ``CAMPAIGN_FREE_TESTS_PER_DAY`` a day per organisation (later ones cost their SMS, as any send).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.links import links_for_messages, shorten_body
from smsplatform.models import Organisation, User

from .models import Category, Message
from .rendering import contact_values, prepare_body, render_for
from .selectors import audience_contact
from .services import sms_send_transactional

TEST_REASON = "test_send"


def _day_start(org: Organisation) -> datetime:
    try:
        zone = ZoneInfo(org.timezone or "Europe/Paris")
    except (ValueError, ZoneInfoNotFoundError):  # a broken setting must not stop a test
        zone = ZoneInfo("Europe/Paris")
    return datetime.combine(timezone.now().astimezone(zone).date(), time.min, tzinfo=zone)


def free_tests_left(org: Organisation) -> int:
    """Tests the organisation may still send free today (its own day, in its time zone)."""
    sent = Message.objects.filter(
        org=org, reason=TEST_REASON, credits=0, created_at__gte=_day_start(org)
    ).count()
    return max(settings.CAMPAIGN_FREE_TESTS_PER_DAY - sent, 0)


def test_send(
    *,
    org: Organisation,
    user: User,
    body: str,
    category: str | None,
    smart_encoding: bool = False,
    transliterate_values: bool = False,
    audience: tuple[list, list] = ([], []),
    contact_id: Any = None,
) -> Message:
    """The composer's message rendered for ``contact_id`` (a contact of ``audience``, lists and segments;
    without one, with the fallbacks), STOP mention and short links included, sent at once to the
    user's verified mobile. Free while :func:`free_tests_left`, charged after."""
    to = user.verified_test_phone
    if not to:
        raise ValidationError({"phone": [_("Verify your mobile number first.")]})
    values: dict[str, Any] = {}
    if contact_id not in (None, ""):
        row = audience_contact(org, *audience, contact_id)
        if row is None:
            raise ValidationError({"contact_id": [_("Choose a contact of the lists and segments chosen.")]})
        values = contact_values(row)
    marketing = (category or Category.MARKETING) != Category.TRANSACTIONAL
    template = prepare_body(body or "", marketing=marketing, stop_mention=org.stop_mention)
    with transaction.atomic():
        # The links become the organisation's test links (no campaign): the placeholder has the short
        # link's length, so the segments charged or shown are those of the text received.
        template, _links = shorten_body(org=org, campaign_id=None, body=template, utm={})
        text = render_for(
            template, values, smart=smart_encoding, transliterate_values=transliterate_values
        ).body
        free = free_tests_left(org) > 0
        message = sms_send_transactional(
            org=org, to=to, body=text, reason=TEST_REASON, actor=user, charge=not free
        )
        final = links_for_messages(org=org, campaign_id=None, items=[(message.pk, message.body)])[message.pk]
        if final != message.body:
            Message.objects.filter(org=org, pk=message.pk).update(body=final)
            message.body = final
    return message
