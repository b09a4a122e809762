"""Report figures equal recounts from the rows, whatever the order in which receipts, clicks and opt-outs
arrive, duplicated webhooks included. The campaign is launched and sent through the campaigns services
(console gateway), its links rendered with analytics.links, receipts applied with the pipeline's
``receipts_apply`` and replies with ``inbound_receive``; clicks go through the public redirect."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.test import Client

from analytics import selectors, services
from analytics.links import links_for_messages, shorten_body
from analytics.models import LinkCode
from billing.services import credits_grant
from campaigns import enqueue, pipeline
from campaigns.gateways.base import Receipt
from campaigns.models import Campaign, Message, MessageStatus
from campaigns.replies import inbound_receive
from campaigns.services import campaign_create, campaign_launch
from contacts.services import contact_create, contact_list_create

from .conftest import NOW, make_campaign, recount, recount_clicks, recount_opt_outs

pytestmark = pytest.mark.django_db

HUMAN = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
BOT = "WhatsApp/2.23.20.0 A"


def launch(tenant, n: int, monkeypatch, capture, *, name="Soldes", start=0, now=NOW) -> Campaign:
    """Creates contacts, a campaign with a link, launches and sends it, and gives each message its short
    link the way the launch will (shorten_body once, links_for_messages per batch)."""
    org = tenant.org
    contact_list = contact_list_create(org=org, actor=tenant.owner, name=f"{name} list")
    for i in range(n):
        contact_create(
            org=org, actor=tenant.owner, phone=f"+3361{start + i:07d}", first_name=f"Client{i}",
            consent_basis="opt_in", consent_source="manual", list_ids=[contact_list.pk],
        )  # fmt: skip
    credits_grant(org=org, amount=10 * n, reference=f"test {name}")
    campaign = campaign_create(
        org=org, actor=tenant.owner, name=name, body="Soldes -20% https://shop.example/soldes",
        list_ids=[contact_list.pk],
    )  # fmt: skip
    dispatches, batches = [], []
    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda cid: dispatches.append(cid))
    monkeypatch.setattr(
        enqueue, "enqueue_batch", lambda org_id, ids, countdown=None: batches.append((org_id, ids))
    )
    with capture(execute=True):
        campaign = campaign_launch(org=org, actor=tenant.owner, campaign=campaign, now=now)
    # What the pipeline will do at launch: placeholders in the template, then a code per message.
    template, _links = shorten_body(
        org=org, campaign_id=campaign.pk, body="Soldes -20% https://shop.example/soldes"
    )
    items = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    bodies = links_for_messages(org=org, campaign_id=campaign.pk, items=[(m, template) for m in items])
    for message_id, body in bodies.items():
        Message.objects.filter(pk=message_id).update(body=body)
    with capture(execute=True):
        while dispatches or batches:
            while dispatches:
                pipeline.campaign_dispatch(campaign_id=dispatches.pop(0), now=now)
            while batches:
                org_id, ids = batches.pop(0)
                pipeline.batch_send(org_id=org_id, message_ids=ids, now=now)
    return campaign


def assert_report_equals_recount(campaign: Campaign) -> None:
    report = selectors.campaign_report(campaign.org, campaign)
    expected = recount(campaign)
    for key, value in expected.items():
        assert report[key] == value, key
    clicks, unique = recount_clicks(campaign)
    assert (report["clicks"], report["unique_clicks"]) == (clicks, unique)
    assert report["opt_outs"] == recount_opt_outs(campaign)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_report_equals_recount_whatever_the_order_of_events(
    tenant_a, tenant_b, monkeypatch, django_capture_on_commit_callbacks, seed
):
    campaign = launch(tenant_a, 12, monkeypatch, django_capture_on_commit_callbacks)
    decoy = launch(tenant_b, 3, monkeypatch, django_capture_on_commit_callbacks, name="Decoy", start=500)
    messages = list(Message.objects.filter(campaign=campaign).values("id", "to", "provider_id"))
    assert all(m["provider_id"] for m in messages), "the console gateway accepted every message"
    codes = dict(LinkCode.objects.filter(campaign_id=campaign.pk).values_list("message_id", "code"))
    rng = random.Random(seed)
    events = []
    for m in messages:
        outcome = rng.choice(["delivered", "delivered", "undelivered", "none"])
        if outcome != "none":
            receipt = Receipt(m["provider_id"], str(m["id"]), outcome, occurred_at=NOW + timedelta(minutes=5))
            events += [("receipt", receipt)] * rng.choice([1, 2, 3])  # duplicated webhooks
        for _ in range(rng.choice([0, 0, 1, 3])):
            events.append(
                ("click", (codes[m["id"]], rng.choice([HUMAN, HUMAN, BOT]), rng.choice(["get", "head"])))
            )
        if rng.random() < 0.3:
            events += [("stop", (m["to"], f"in-{m['id']}"))] * rng.choice([1, 2])  # a replayed webhook
        if rng.random() < 0.1:
            events.append(("stop", (m["to"], f"again-{m['id']}")))  # the same person, twice
    rng.shuffle(events)
    client = Client()
    for i, (kind, payload) in enumerate(events):
        if kind == "receipt":
            pipeline.receipts_apply(gateway="console", receipts=[payload], now=NOW + timedelta(minutes=5))
        elif kind == "click":
            code, ua, method = payload
            response = getattr(client, method)(f"/r/{code}", HTTP_USER_AGENT=ua)
            assert response.status_code == 302
        else:
            number, provider_id = payload
            inbound_receive(
                gateway="console", provider_id=provider_id, from_number=number, text="STOP",
                received_at=NOW + timedelta(hours=1), org=tenant_a.org,
            )  # fmt: skip
        if i % 7 == 3:
            services.message_counts_squash()
        if i % 5 == 0:
            assert_report_equals_recount(campaign)
    assert_report_equals_recount(campaign)
    services.message_counts_squash()
    assert_report_equals_recount(campaign)
    assert_report_equals_recount(decoy)
    report = selectors.campaign_report(tenant_a.org, campaign)
    assert report["recipients"] == 12
    assert report["status_counts"]["queued"] == 0
    human_clicks = [p for kind, p in events if kind == "click" and p[1] == HUMAN and p[2] == "get"]
    assert report["clicks"] == len(human_clicks)
    assert report["unique_clicks"] == len({code for code, _ua, _m in human_clicks})
    assert report["opt_outs"] == len({p[0] for kind, p in events if kind == "stop"})
    assert report["status_counts"]["delivered"] == len(
        {r.provider_id for kind, r in events if kind == "receipt" and r.status == "delivered"}
    )


def test_opt_out_goes_to_the_campaign_received_last_within_seven_days(tenant_a):
    first, first_msgs = make_campaign(tenant_a.org, 1, name="First")
    contact = first_msgs[0].contact
    second = Campaign.objects.create(
        org=tenant_a.org, name="Second", body="b", status="sending", launched_at=NOW
    )
    Message.objects.filter(pk=first_msgs[0].pk).update(status=MessageStatus.SENT, sent_at=NOW)
    Message.objects.create(
        org=tenant_a.org, campaign=second, contact=contact, to=contact.phone, body="b",
        status=MessageStatus.SENT, sent_at=NOW + timedelta(days=2),
    )  # fmt: skip
    org = tenant_a.org
    at = [NOW + timedelta(days=1), NOW + timedelta(days=3), NOW + timedelta(days=10), NOW - timedelta(days=1)]
    assert selectors.attributed_campaigns(org, [(contact.phone, t) for t in at]) == [
        first.pk,
        second.pk,
        None,
        None,
    ]
    inbound_receive(gateway="console", provider_id="s1", from_number=contact.phone, text="STOP",
                    received_at=NOW + timedelta(days=3), org=org)  # fmt: skip
    assert selectors.campaign_report(org, second)["opt_outs"] == 1
    assert selectors.campaign_report(org, first)["opt_outs"] == 0
    inbound_receive(gateway="console", provider_id="s2", from_number=contact.phone, text="STOP",
                    received_at=NOW + timedelta(days=12), org=org)  # fmt: skip
    assert selectors.campaign_report(org, second)["opt_outs"] == 1


def test_rates(tenant_a):
    campaign, msgs = make_campaign(tenant_a.org, 4)
    ids = [m.pk for m in msgs]
    Message.objects.filter(pk__in=ids[:3]).update(status=MessageStatus.SENT, sent_at=NOW)
    Message.objects.filter(pk__in=ids[:2]).update(status=MessageStatus.DELIVERED, delivered_at=NOW)
    report = selectors.campaign_report(tenant_a.org, campaign)
    assert report["delivery_rate"] == round(2 / 3, 4)
    assert report["click_rate"] == 0.0
    assert report["credits_spent"] == 3
