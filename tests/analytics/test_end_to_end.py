"""The campaigns pipeline and the analytics joined: a launch turns the body's URL into one tracked short
link per recipient (counted at its short length), the gateway receives those links, a click on one
redirects with the UTM parameters and shows in the report API, which equals a recount over the rows.

Runs through the real services and tasks with the loopback gateway (a server in a thread), the tasks run
in-process in order by the pipeline tests' harness."""

from __future__ import annotations

import re

import pytest
import requests
from django.test import Client

from analytics.links import body_for_counting, short_link_length
from analytics.models import Click, LinkCode, TrackedLink
from analytics.services import campaign_utm_set
from billing.selectors import credits_balance
from campaigns import enqueue, periodic
from campaigns.composer import compose
from campaigns.models import Campaign, Message, MessageStatus
from campaigns.services import campaign_create, campaign_estimate, campaign_launch, sms_send_transactional
from compliance.encoding import count_segments
from smsplatform.models import Role
from tests.campaigns.conftest import MONDAY_10H, SECRET, Harness, make_audience

from .conftest import recount, recount_clicks

pytestmark = pytest.mark.django_db

DOMAIN = "https://sms.example"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
# Long enough that, typed as is, the body would take two segments; as a short link it takes one.
LONG_URL = "https://boutique-des-fleurs.example/collections/printemps/bouquets?ref=sms&promo=" + "x" * 60
BODY = "Bonjour {first_name|client}, -20% sur les bouquets : " + LONG_URL
LINK_RE = re.compile(re.escape(DOMAIN) + r"/r/([A-Za-z0-9]{8})")


@pytest.fixture
def loopback(settings):
    from campaigns.gateways.base import reset_gateways
    from campaigns.gateways.loopback_server import LoopbackServer

    settings.SMS_GATEWAY = "loopback"
    settings.GATEWAY_WEBHOOK_SECRET = SECRET
    settings.SMS_GATEWAY_RATE_LIMITS = {}
    server = LoopbackServer(port=0, receipt_delay=3600, secret=SECRET, seed=1).start()
    settings.LOOPBACK_GATEWAY_URL = server.url
    reset_gateways()
    try:
        yield server
    finally:
        server.stop()
        reset_gateways()


@pytest.fixture
def harness(monkeypatch, django_capture_on_commit_callbacks) -> Harness:
    h = Harness(capture=django_capture_on_commit_callbacks)
    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: h.dispatches.append(campaign_id))
    monkeypatch.setattr(
        enqueue,
        "enqueue_batch",
        lambda org_id, ids, countdown=None: h.batches.append((org_id, list(ids), countdown)),
    )
    return h


def _campaign(tenant, n: int = 3, body: str = BODY, start: int = 0, sender_id: str = "FLEURS") -> Campaign:
    contact_list, _ = make_audience(tenant, n, credits=100, name=f"Clients {start}", start=start)
    return campaign_create(
        org=tenant.org,
        actor=tenant.owner,
        name="Printemps",
        body=body,
        sender_id=sender_id,
        list_ids=[contact_list.pk],
    )


def test_launch_click_and_report_end_to_end(tenant_a, tenant_b, harness, loopback):
    _campaign(tenant_b, n=2, sender_id="PAIN")  # a decoy organisation with its own contacts
    campaign = _campaign(tenant_a)
    utm = {"utm_source": "sms", "utm_campaign": "printemps"}
    campaign_utm_set(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, utm=utm)
    assert count_segments(BODY.replace("{first_name|client}", "Client0") + " STOP au 36111") >= 2
    estimate = campaign_estimate(org=tenant_a.org, campaign=campaign, at=MONDAY_10H)
    balance = credits_balance(tenant_a.org)

    with harness.capture(execute=True):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    # Bodies are final before the first batch can run: no placeholder, one link per message.
    messages = list(Message.objects.filter(campaign=campaign).order_by("id"))
    assert len(messages) == 3
    codes = []
    for message in messages:
        found = LINK_RE.findall(message.body)
        assert len(found) == 1, message.body
        assert "boutique-des-fleurs" not in message.body and "@" not in message.body
        assert message.segments == count_segments(message.body) == 1  # counted at the short length
        assert message.credits == 1
        codes.append(found[0])
    assert len(set(codes)) == 3
    assert dict(LinkCode.objects.filter(campaign_id=campaign.pk).values_list("code", "message_id")) == {
        code: m.pk for code, m in zip(codes, messages, strict=True)
    }
    assert TrackedLink.objects.get(campaign_id=campaign.pk).url == LONG_URL
    assert estimate["credits"] == 3 and estimate["segments"] == 1  # the estimate counted the same
    assert credits_balance(tenant_a.org) == balance - 3  # reserved

    harness.run(now=MONDAY_10H)
    periodic.campaigns_settle(now=MONDAY_10H)
    sent = {row["to"]: row["text"] for row in requests.get(f"{loopback.url}/messages", timeout=5).json()}
    assert sent == {m.to: m.body for m in messages}  # the gateway got the tracked links
    statuses = set(Message.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {MessageStatus.SENT}

    link = f"{DOMAIN}/r/{codes[1]}"
    assert link in messages[1].body and len(link) == short_link_length()
    response = Client().get(link.removeprefix(DOMAIN), HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 302
    assert response["Location"] == f"{LONG_URL}&utm_source=sms&utm_campaign=printemps"
    click = Click.objects.get()
    assert (click.org_id, click.campaign_id) == (tenant_a.org.pk, campaign.pk)
    assert click.message_id == messages[1].pk

    report = tenant_a.api(Role.ANALYST).get(f"/api/v1/campaigns/{campaign.pk}/report")
    assert report.status_code == 200
    data = report.json()
    assert (data["clicks"], data["unique_clicks"]) == (1, 1) == recount_clicks(campaign)
    expected = recount(campaign)
    assert {key: data[key] for key in expected} == expected
    assert data["recipients"] == 3 and data["status_counts"]["sent"] == 3 and data["credits_spent"] == 3
    assert data["click_rate"] == round(1 / 3, 4)


def test_a_launch_without_url_keeps_the_body_and_issues_no_link(tenant_a, harness):
    campaign = _campaign(tenant_a, body="Bonjour {first_name|client}, -20% ce week-end")
    with harness.capture(execute=True):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    bodies = set(Message.objects.filter(campaign=campaign).values_list("body", flat=True))
    assert all(body.startswith("Bonjour Client") and "/r/" not in body for body in bodies)
    assert not TrackedLink.objects.exists() and not LinkCode.objects.exists()


def test_launch_queries_do_not_grow_with_the_audience(tenant_a, harness):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n, start in ((2, 0), (4, 10), (40, 100)):  # the first one warms the caches (prices, policy)
        campaign = _campaign(tenant_a, n=n, start=start)
        with CaptureQueriesContext(connection) as ctx, harness.capture(execute=False):
            campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
        counts.append(len(ctx.captured_queries))
        assert LinkCode.objects.filter(campaign_id=campaign.pk).count() == n
    if connection.vendor == "postgresql":
        assert counts[1] == counts[2]
    else:  # SQLite's bound-parameter limit splits a bulk INSERT of 40 wide rows in two: not per row
        assert counts[2] - counts[1] <= 2


def test_a_failed_launch_leaves_no_link(tenant_a):
    contact_list, _ = make_audience(tenant_a, 3)  # the free credits only
    body = f"{BODY} {'a' * 6000}"
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="X",
        body=body,
        sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )
    from billing.services import InsufficientCredits

    with pytest.raises(InsufficientCredits):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    assert not TrackedLink.objects.exists() and not Message.objects.exists()


def test_transactional_messages_are_not_rewritten(tenant_a, harness):
    from billing.services import credits_grant

    credits_grant(org=tenant_a.org, amount=10, reference="test")
    body = "Votre commande est prête : https://boutique.example/commande/42"
    with harness.capture(execute=True):
        message = sms_send_transactional(org=tenant_a.org, to="+33612345678", body=body, reason="order")
    assert Message.objects.get(pk=message.pk).body == body
    assert not TrackedLink.objects.exists() and not LinkCode.objects.exists()


def test_composer_counts_links_at_their_short_length():
    counter = compose(body=f"Promo {LONG_URL}", stop_mention="STOP au 36111")
    assert counter.info.segments == 1
    assert len(counter.final) == len(body_for_counting(f"Promo {LONG_URL} STOP au 36111"))
    assert f"{DOMAIN}/r/xxxxxxxx" in counter.final and "@" not in counter.final
    plain = compose(body="Promo sans lien", stop_mention="STOP au 36111")
    assert plain.final == "Promo sans lien STOP au 36111"
