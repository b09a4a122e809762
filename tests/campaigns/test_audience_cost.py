"""Money shown is money spent: the composer counts every recipient's own text (a first name with ë or ï
switches that recipient's message to Unicode), and the estimate, the reservation and the settled spend
agree with it; accents leave the recipients' values only on the owner's choice; the composer's test is
free, rendered for a real contact, with the real short link."""

from __future__ import annotations

import re

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from analytics.models import LinkCode
from billing.selectors import credits_balance
from campaigns import periodic
from campaigns.composer import compose
from campaigns.models import Message
from campaigns.selectors import audience_groups, audience_sample
from campaigns.services import campaign_create, campaign_estimate, campaign_launch, campaign_update
from contacts.models import Contact
from contacts.services import contact_create
from smsplatform.models import Role

from .conftest import MONDAY_10H, make_audience, phone

pytestmark = pytest.mark.django_db

NAMES = ["Marie", "Jean", "Noël", "Zoë", "Loïc", "Gaëlle", "", "Élodie", "Françoise", "Noël"]
# 118 characters with the mention: one SMS in GSM-7; over 70 in Unicode, so 2 SMS for Noël and Zoë.
BODY = "Bonjour {prenom|client}, -20% sur les fleurs de saison ce week-end a la boutique, venez vite !"


def mixed_audience(tenant, credits=1000):
    contact_list, _ = make_audience(tenant, 0, credits=credits)
    for i, name in enumerate(NAMES):
        contact_create(
            org=tenant.org,
            actor=tenant.owner,
            phone=phone(i),
            first_name=name,
            consent_basis="opt_in",
            consent_source="manual",
            list_ids=[contact_list.pk],
        )
    # A Belgian number: priced by its own region, through the same grouped pass.
    contact_create(
        org=tenant.org,
        actor=tenant.owner,
        phone="+32470123456",
        first_name="Loïc",
        consent_basis="opt_in",
        consent_source="manual",
        list_ids=[contact_list.pk],
    )
    return contact_list


def counter_credits(client, contact_list, **data) -> int:
    response = client.post(
        reverse("campaigns:counter"),
        {"body": BODY, "category": "marketing", "list_ids": [contact_list.pk], **data},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    html = response.content.decode()
    return int(
        re.search(r'data-testid="counter-credits">([\d,\s\u202f]+)<', html).group(1).replace(",", "")
    ), html


def test_composer_estimate_reservation_and_spend_agree_on_a_mixed_audience(tenant_a, harness, loopback):
    contact_list = mixed_audience(tenant_a)
    shown, html = counter_credits(tenant_a.client(), contact_list)
    # The distribution is shown with the characters and the field that cause it.
    assert 'data-testid="audience-tiers"' in html
    tiers = dict(re.findall(r'data-segments="(\d)" data-recipients="(\d+)"', html))
    # Marie, Jean, Élodie (É is GSM-7) and the fallback fit one SMS; Noël (twice), Zoë, Loïc (twice),
    # Gaëlle and Françoise need two in Unicode.
    assert tiers == {"1": "4", "2": "7"}
    assert all(char in html for char in "ëïç") and "in prenom" in html

    campaign = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="Fleurs", body=BODY, list_ids=[contact_list.pk]
    )
    estimate = campaign_estimate(org=tenant_a.org, campaign=campaign, at=MONDAY_10H)
    assert estimate["credits"] == shown
    assert {(s["segments"], s["recipients"]) for s in estimate["sizes"]} == {(1, 4), (2, 7)}
    balance = credits_balance(tenant_a.org)
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign = campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    assert campaign.credits_reserved == shown
    harness.run(now=MONDAY_10H)
    periodic.campaigns_settle(now=MONDAY_10H)
    campaign.refresh_from_db()
    # Nothing deferred nor blocked: the credits spent are exactly those the composer showed.
    assert campaign.credits_spent == shown
    assert credits_balance(tenant_a.org) == balance - shown
    assert Message.objects.get(campaign=campaign, to=phone(2)).body.startswith("Bonjour Noël,")


def test_names_lose_their_accents_only_on_the_owners_choice(tenant_a, harness, loopback):
    contact_list = mixed_audience(tenant_a)
    client = tenant_a.client()
    shown, html = counter_credits(client, contact_list)
    offered = re.search(
        r"Write the names without these accents \(Noël → Noel\): ([\d,]+) → ([\d,]+) credits", html
    )
    assert offered and int(offered.group(1).replace(",", "")) == shown
    cheaper = int(offered.group(2).replace(",", ""))
    assert cheaper < shown
    chosen, html = counter_credits(client, contact_list, transliterate_merge_values="on")
    assert chosen == cheaper and 'data-testid="transliterated"' in html

    body = BODY + " Bonnes fêtes !"  # the owner's own accent stays, whatever the choice
    campaign = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="Fêtes", body=body, list_ids=[contact_list.pk]
    )
    campaign = campaign_update(
        org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, transliterate_merge_values=True
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, now=MONDAY_10H)
    bodies = dict(Message.objects.filter(campaign=campaign).values_list("to", "body"))
    assert bodies[phone(2)].startswith("Bonjour Noel,") and "fêtes" in bodies[phone(2)]
    assert bodies[phone(5)].startswith("Bonjour Gaelle,")
    assert bodies[phone(7)].startswith("Bonjour Élodie,")  # É is GSM-7: nothing to change

    # Without the choice, names are sent as typed.
    other = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="B", body=BODY, list_ids=[contact_list.pk]
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign_launch(org=tenant_a.org, actor=tenant_a.owner, campaign=other, now=MONDAY_10H)
    assert Message.objects.get(campaign=other, to=phone(3)).body.startswith("Bonjour Zoë,")


def test_grouped_pass_equals_rendering_each_recipient(tenant_a):
    contact_list = mixed_audience(tenant_a)
    groups = audience_groups(tenant_a.org, [contact_list.pk], [], ["prenom"])
    # Ten French numbers with 9 distinct first names, plus the Belgian one: grouped by (region, value).
    assert sum(g.recipients for g in groups) == 11
    assert len(groups) == 10
    counter = compose(body=BODY, stop_mention=tenant_a.org.stop_mention, audience=groups)
    assert counter.info.segments == 1  # the text as typed, with its fallback, is plain GSM-7
    assert counter.price.mixed and counter.price.credits > counter.recipients


def test_test_send_is_free_rendered_for_a_real_contact_with_its_real_short_link(
    tenant_a, tenant_b, settings, loopback
):
    settings.CAMPAIGN_FREE_TESTS_PER_DAY = 1
    contact_list = mixed_audience(tenant_a)
    user = tenant_a.users[Role.OWNER]
    user.test_phone, user.test_phone_verified_at = "+33699999999", timezone.now()
    user.save()
    noel = Contact.objects.get(org=tenant_a.org, phone=phone(2))
    client = tenant_a.client()
    body = "Bonjour {first_name|client}, nos fleurs : https://fleurs.example/printemps"
    data = {"body": body, "category": "marketing", "list_ids": [contact_list.pk], "contact_id": noel.pk}
    balance = credits_balance(tenant_a.org)

    picker = client.post(
        reverse("campaigns:test_contacts"), {"list_ids": [contact_list.pk]}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert (
        f'value="{noel.pk}"' in picker.content.decode()
        and "1 free test left today" in picker.content.decode()
    )

    sent = client.post(
        reverse("campaigns:test_send"), data, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert sent.status_code == 200 and "Free." in sent.content.decode()
    message = Message.objects.get(org=tenant_a.org, reason="test_send")
    assert message.body.startswith("Bonjour Noël, nos fleurs : ")
    code = LinkCode.objects.get(org=tenant_a.org, message=message)
    assert f"/r/{code.code}" in message.body and "fleurs.example" not in message.body
    assert message.credits == 0 and credits_balance(tenant_a.org) == balance

    # Past the daily free tests, a test costs its SMS again.
    client.post(reverse("campaigns:test_send"), data, HTTP_HX_REQUEST="true")
    charged = Message.objects.filter(org=tenant_a.org, reason="test_send").latest("id")
    assert charged.credits == charged.segments > 0
    assert credits_balance(tenant_a.org) == balance - charged.credits

    # A contact of another organisation, or outside the chosen lists, is refused.
    stranger_list, (stranger,) = make_audience(tenant_b, 1)
    for contact_id in (stranger.pk, 999_999):
        refused = client.post(
            reverse("campaigns:test_send"), {**data, "contact_id": contact_id}, HTTP_HX_REQUEST="true"
        )
        assert refused.status_code == 400
    assert Message.objects.filter(org=tenant_a.org, reason="test_send").count() == 2


def test_sample_offers_the_names_that_may_cost_more_first(tenant_a):
    contact_list = mixed_audience(tenant_a)
    sample = audience_sample(tenant_a.org, [contact_list.pk], [], limit=6)
    # Noël, Zoë, Loïc, Gaëlle, Françoise come first; Élodie is plain GSM-7 (É) like Marie.
    assert {c.first_name for c in sample[:2]} <= {"Noël", "Zoë", "Loïc", "Gaëlle", "Françoise"}
    assert len(sample) == 6
    assert audience_sample(tenant_a.org, [], []) == []


def test_the_campaign_page_shows_the_message_as_a_real_recipient_reads_it(tenant_a):
    contact_list = mixed_audience(tenant_a)
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="Fleurs",
        body="Bonjour {prenom}, -20% !",
        list_ids=[contact_list.pk],
    )
    page = tenant_a.client().get(reverse("campaigns:detail", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    # The text as typed has an empty field ("Bonjour , ..."); the sample is a contact whose name has an
    # accent GSM-7 lacks, as that contact will receive it.
    assert "As Noël" in html and "will read it:" in html
    sample = html.split('data-testid="campaign-body-sample">')[1].split("</div>")[0]
    assert sample.startswith("Bonjour Noël, -20% !")
    campaign_update(
        org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, transliterate_merge_values=True
    )
    html = tenant_a.client().get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="campaign-body-sample">Bonjour Noel, -20% !' in html


def test_the_estimate_streams_the_audience_in_chunks_with_the_same_result(tenant_a, monkeypatch):
    from campaigns.services import estimate as estimate_module
    from compliance.services import suppression_add

    contact_list = mixed_audience(tenant_a)
    for i in range(50, 53):  # no consent: blocked for marketing
        contact_create(
            org=tenant_a.org,
            actor=tenant_a.owner,
            phone=phone(i),
            first_name="Zoë",
            list_ids=[contact_list.pk],
        )
    suppression_add(org=tenant_a.org, phone_e164=phone(4), source="manual")
    campaign = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="Fleurs", body=BODY, list_ids=[contact_list.pk]
    )
    whole = campaign_estimate(org=tenant_a.org, campaign=campaign, at=MONDAY_10H)
    monkeypatch.setattr(estimate_module, "ESTIMATE_CHUNK", 3)
    chunked = campaign_estimate(org=tenant_a.org, campaign=campaign, at=MONDAY_10H)
    assert chunked == whole
    assert whole["blocked"] == {"suppressed": 1, "no_consent": 3}
    assert whole["credits_after_blocks"] < whole["credits"] and whole["recipients"] == 14
