"""The public redirect /r/<code>: people are counted, bots and HEAD are not, unknown codes get a page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics import selectors, services
from analytics.links import links_for_messages, shorten_body
from analytics.models import Click, LinkCode, TrackedLink

from .conftest import make_campaign

pytestmark = pytest.mark.django_db

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
BOTS = [
    "WhatsApp/2.24.6.77 A",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; Twitterbot/1.0)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "Wget/1.21",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "",
]


def _codes(tenant, n=2, url="https://shop.example/offre", utm=None):
    campaign, msgs = make_campaign(tenant.org, n)
    template, _ = shorten_body(org=tenant.org, campaign_id=campaign.pk, body=f"Offre {url}", utm=utm)
    links_for_messages(org=tenant.org, campaign_id=campaign.pk, items=[(m.pk, template) for m in msgs])
    codes = list(
        LinkCode.objects.filter(campaign_id=campaign.pk).order_by("message_id").values_list("code", flat=True)
    )
    return campaign, msgs, codes


def test_a_click_is_counted_and_redirected_with_utm(tenant_a):
    campaign, msgs, codes = _codes(tenant_a, utm={"utm_source": "sms", "utm_campaign": "soldes"})
    response = Client().get(f"/r/{codes[0]}", HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/offre?utm_source=sms&utm_campaign=soldes"
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    click = Click.objects.get()
    assert (click.org_id, click.campaign_id, click.message_id) == (tenant_a.org.pk, campaign.pk, msgs[0].pk)
    assert click.contact_id == msgs[0].contact_id
    assert click.user_agent_class == "mobile"
    assert click.ip_hash and "203.0.113.9" not in click.ip_hash
    Client().get(f"/r/{codes[0]}", HTTP_USER_AGENT=IPHONE)
    Client().get(f"/r/{codes[1]}", HTTP_USER_AGENT=IPHONE)
    report = selectors.campaign_report(tenant_a.org, campaign)
    assert (report["clicks"], report["unique_clicks"]) == (3, 2)


@pytest.mark.parametrize("user_agent", BOTS)
def test_bots_are_redirected_but_not_counted(tenant_a, user_agent):
    _campaign, _msgs, codes = _codes(tenant_a, n=1)
    response = Client().get(f"/r/{codes[0]}", HTTP_USER_AGENT=user_agent)
    assert response.status_code == 302
    assert not Click.objects.exists()


def test_head_is_not_counted(tenant_a):
    _campaign, _msgs, codes = _codes(tenant_a, n=1)
    response = Client().head(f"/r/{codes[0]}", HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 302
    assert not Click.objects.exists()
    assert Client().post(f"/r/{codes[0]}", HTTP_USER_AGENT=IPHONE).status_code == 405


@pytest.mark.parametrize("code", ["unknown1", "abc", "a-b_c.d", "x" * 40, "%00"])
def test_an_unknown_code_gets_a_friendly_page(tenant_a, code):
    response = Client().get(f"/r/{code}", HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 404
    assert b"This link is no longer available" in response.content or b"plus disponible" in response.content
    assert b"Traceback" not in response.content
    assert not Click.objects.exists()


def test_an_expired_code_gets_the_same_page(tenant_a):
    _campaign, _msgs, codes = _codes(tenant_a, n=1)
    TrackedLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(f"/r/{codes[0]}", HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 404
    assert not Click.objects.exists()


def test_a_click_on_another_organisations_link_counts_for_its_owner_only(tenant_a, tenant_b):
    mine, _msgs, _codes_a = _codes(tenant_a, n=1)
    theirs, _msgs_b, codes_b = _codes(tenant_b, n=1)
    client = tenant_a.client()  # logged in as A: the link is B's all the same
    assert client.get(f"/r/{codes_b[0]}", HTTP_USER_AGENT=IPHONE).status_code == 302
    assert selectors.campaign_report(tenant_b.org, theirs)["clicks"] == 1
    assert selectors.campaign_report(tenant_a.org, mine)["clicks"] == 0
    assert Click.objects.get().org_id == tenant_b.org.pk


def test_utm_set_later_applies_to_links_already_sent(tenant_a):
    campaign, _msgs, codes = _codes(tenant_a, n=1)
    services.campaign_utm_set(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign,
                              utm={"utm_source": "sms", "utm_medium": "sms", "evil": "x"})  # fmt: skip
    location = Client().get(f"/r/{codes[0]}", HTTP_USER_AGENT=IPHONE)["Location"]
    assert location == "https://shop.example/offre?utm_source=sms&utm_medium=sms"


def test_click_record_queries(tenant_a, django_assert_num_queries):
    _campaign, _msgs, codes = _codes(tenant_a, n=1)
    # the code, then in a savepoint: the first-click flag, the click row, the click count delta (the
    # phishing blocklist comes from the cache, filled when the campaign's links were made)
    with django_assert_num_queries(6):
        assert services.click_record(code=codes[0], user_agent=IPHONE).counted
    with django_assert_num_queries(1):
        assert not services.click_record(code=codes[0], user_agent="curl/8").counted
