"""Factories of the campaigns models for the tenancy walk (tests/test_tenancy_walk.py).

Registered into ``tests.factories.FACTORIES`` when this module is imported: tests/factories.py should
``import tests.campaigns.factories  # noqa: F401`` at its end (the campaigns conftest imports it too).
"""

from __future__ import annotations

import itertools

from campaigns.models import Campaign, InboundMessage, Message, Template
from tests.factories import factory

_counter = itertools.count(1)


@factory("campaigns.campaign")
def make_campaign(tenant) -> Campaign:
    return Campaign.objects.create(
        org=tenant.org, name=f"Campagne {next(_counter)}", body="Promo", sender_id="SHOP"
    )


@factory("campaigns.template")
def make_template(tenant) -> Template:
    return Template.objects.create(
        org=tenant.org, name=f"Modèle {next(_counter)}", body="Bonjour {first_name}"
    )


@factory("campaigns.message")
def make_message(tenant) -> Message:
    campaign = make_campaign(tenant)
    return Message.objects.create(
        org=tenant.org, campaign=campaign, to=f"+336{next(_counter):08d}", body="Promo"
    )


@factory("campaigns.inboundmessage")
def make_inbound(tenant) -> InboundMessage:
    n = next(_counter)
    return InboundMessage.objects.create(
        org=tenant.org,
        gateway="loopback",
        provider_id=f"factory-{n}",
        from_number=f"+336{n:08d}",
        text="Merci",
    )
