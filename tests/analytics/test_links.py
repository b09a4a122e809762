"""Tracked short links: placeholders of the real length, one code per message, batch inserts."""

from __future__ import annotations

import pytest

from analytics import links
from analytics.links import body_for_counting, links_for_messages, short_link_length, shorten_body, target_url
from analytics.models import LinkCode, TrackedLink
from campaigns.rendering import render_for
from compliance.encoding import count_segments

from .conftest import make_campaign

pytestmark = pytest.mark.django_db


def test_short_link_length_follows_the_domain(settings):
    settings.SHORT_LINK_DOMAIN = "https://sms.example/"
    assert short_link_length() == len("https://sms.example/r/") + 8
    settings.SHORT_LINK_CODE_LENGTH = 7
    assert short_link_length() == len("https://sms.example/r/") + 7


def test_counting_body_has_the_final_length():
    body = "Promo sur https://boutique.example/une/tres/longue/adresse?utm=1 et www.autre.example. STOP 36111"
    counted = body_for_counting(body)
    assert (
        len(counted)
        == len(body)
        - len("https://boutique.example/une/tres/longue/adresse?utm=1")
        - len("www.autre.example")
        + 2 * short_link_length()
    )
    assert counted.endswith(". STOP 36111")  # the sentence's full stop is not part of the URL


def test_shorten_then_render_per_message(tenant_a):
    campaign, msgs = make_campaign(tenant_a.org, 3)
    body = "Bonjour {first_name|client}, -20% sur https://shop.example/a et https://shop.example/b, encore https://shop.example/a"
    template, used = shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body=body)
    assert [link.url for link in used] == ["https://shop.example/a", "https://shop.example/b"]
    assert "shop.example" not in template
    rendered = render_for(template, {"first_name": "Léa"}, smart=False)
    items = [
        (m.pk, render_for(template, {"first_name": f"C{i}"}, smart=False).body) for i, m in enumerate(msgs)
    ]
    bodies = links_for_messages(org=tenant_a.org, campaign_id=campaign.pk, items=items)
    assert set(bodies) == {m.pk for m in msgs}
    codes = list(LinkCode.objects.filter(campaign_id=campaign.pk).values_list("code", flat=True))
    assert len(codes) == 6 and len(set(codes)) == 6  # one per (message, distinct link)
    for (message_id, before), message in zip(items, msgs, strict=True):
        after = bodies[message_id]
        assert len(after) == len(before)  # the segments counted on the template are the real ones
        assert count_segments(after) == count_segments(before)
        assert after.count("https://sms.example/r/") == 3
        mine = set(LinkCode.objects.filter(message=message).values_list("code", flat=True))
        assert {part[:8] for part in after.split("https://sms.example/r/")[1:]} == mine
    assert rendered.segments == count_segments(rendered.body)


def test_links_for_messages_is_idempotent_and_batched(tenant_a, django_assert_num_queries):
    campaign, msgs = make_campaign(tenant_a.org, 50)
    template, _ = shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body="Voir https://shop.example/x")
    items = [(m.pk, template) for m in msgs] + [(10**9, "no link here")]
    # links, existing codes, contacts of the messages, one bulk insert (in a savepoint: 2 more)
    with django_assert_num_queries(6):
        first = links_for_messages(org=tenant_a.org, campaign_id=campaign.pk, items=items)
    with django_assert_num_queries(3):
        again = links_for_messages(org=tenant_a.org, campaign_id=campaign.pk, items=items)
    assert first == again
    assert first[10**9] == "no link here"
    assert LinkCode.objects.filter(campaign_id=campaign.pk).count() == 50
    assert set(LinkCode.objects.filter(campaign_id=campaign.pk).values_list("contact_id", flat=True)) == {
        m.contact_id for m in msgs
    }


def test_a_relaunch_reuses_the_campaign_links(tenant_a):
    campaign, _ = make_campaign(tenant_a.org, 1)
    shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body="https://shop.example/x")
    shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body="https://shop.example/x")
    assert TrackedLink.objects.filter(campaign=campaign).count() == 1


def test_a_code_collision_is_retried(tenant_a, monkeypatch):
    campaign, msgs = make_campaign(tenant_a.org, 2)
    template, _ = shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body="https://shop.example/x")
    links_for_messages(org=tenant_a.org, campaign_id=campaign.pk, items=[(msgs[0].pk, template)])
    taken = LinkCode.objects.get(message=msgs[0]).code
    sequence = iter([taken, "Zz9Zz9Zz"])
    monkeypatch.setattr(links, "new_code", lambda: next(sequence))
    bodies = links_for_messages(org=tenant_a.org, campaign_id=campaign.pk, items=[(msgs[1].pk, template)])
    assert bodies[msgs[1].pk].endswith("/r/Zz9Zz9Zz")


def test_body_without_url_is_untouched(tenant_a):
    campaign, _ = make_campaign(tenant_a.org, 1)
    assert shorten_body(org=tenant_a.org, campaign_id=campaign.pk, body="Bonjour {first_name}") == (
        "Bonjour {first_name}",
        [],
    )


def test_target_url_adds_utm_without_overriding():
    assert target_url("https://shop.example/p?a=1", {"utm_source": "sms", "utm_medium": ""}) == (
        "https://shop.example/p?a=1&utm_source=sms"
    )
    assert target_url("https://shop.example/p?utm_source=mine", {"utm_source": "sms"}) == (
        "https://shop.example/p?utm_source=mine"
    )
    assert target_url("https://shop.example/", None) == "https://shop.example/"
