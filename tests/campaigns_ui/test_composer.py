"""The composer's live counter, the one-click fix, templates and the test send."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from campaigns.models import Message, Template
from smsplatform.models import Role

from .conftest import add_contacts

pytestmark = pytest.mark.django_db

# 56 characters: with the STOP mention (" STOP au 36111") 70 in GSM-7 (1 SMS); the emoji makes it UCS-2
# with 72 code units (2 SMS).
TEXT = "Soldes ce samedi : -20% sur tous les bouquets de saison"
EMOJI = "\U0001f389"


def counter(client, **data):
    data.setdefault("category", "marketing")
    response = client.post(reverse("campaigns:counter"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    encoding = re.search(r'data-encoding="([^"]+)"', html).group(1)
    segments = int(re.search(r'data-segments="(\d+)"', html).group(1))
    credits = re.search(r'data-testid="counter-credits">([^<]+)<', html).group(1).strip()
    return html, encoding, segments, credits


def test_counter_emoji_switches_to_ucs2_doubles_the_cost_and_names_the_culprit(tenant_a):
    contact_list = add_contacts(tenant_a, 3)
    client = tenant_a.client(Role.MARKETER)

    html, encoding, segments, credits = counter(client, body=TEXT, list_ids=[contact_list.pk])
    assert (encoding, segments, credits) == ("GSM-7", 1, "3")
    assert "STOP au 36111" in html  # the mention is appended, shown and counted
    assert 'data-testid="culprit"' not in html

    html, encoding, segments, credits = counter(client, body=TEXT + " " + EMOJI, list_ids=[contact_list.pk])
    assert (encoding, segments, credits) == ("UCS-2", 2, "6")
    assert f'data-char="{EMOJI}"' in html
    assert f'data-fix-char="{EMOJI}"' in html
    assert "2 SMS → 1 SMS" in html


def test_counter_accent_fix_and_stop_mention_counted(tenant_a):
    client = tenant_a.client()
    html, encoding, segments, _ = counter(client, body="Fête des mères : -10%")
    assert encoding == "UCS-2"
    assert 'data-char="ê"' in html
    assert "Replace with “e”" in html or "Remplacer par « e »" in html or 'data-fix-char="ê"' in html
    # Transactional messages get no STOP mention.
    html, *_ = counter(client, body="Votre commande est prête", category="transactional")
    assert 'data-testid="stop-suffix"' not in html


def test_counter_explains_a_refused_sender(tenant_a):
    html, *_ = counter(tenant_a.client(), body="Bonjour", sender_id="INFO")
    assert 'data-testid="sender-errors"' in html


def test_fix_endpoint_replaces_one_character_or_all(tenant_a):
    client = tenant_a.client()
    url = reverse("campaigns:fix")
    body = f"C’est la fête {EMOJI} !"
    data = client.post(url, {"body": body, "char": EMOJI}).json()
    assert data["body"] == "C’est la fête !"
    data = client.post(url, {"body": body, "char": "ê"}).json()
    assert data["body"] == f"C’est la fete {EMOJI} !"
    # The one-click fix keeps the French words; removing the accents is a choice of its own.
    data = client.post(url, {"body": body, "all": "1"}).json()
    assert data["body"] == "C'est la fête !"
    data = client.post(url, {"body": body, "all": "accents"}).json()
    assert data["body"] == "C'est la fete !"
    assert client.post(url, {"body": body, "char": ""}).status_code == 400

    # After the fix, the counter is back to GSM-7 and the cost halves.
    contact_list = add_contacts(tenant_a, 2)
    fixed = client.post(url, {"body": TEXT + " " + EMOJI, "char": EMOJI}).json()["body"]
    _, encoding, segments, credits = counter(client, body=fixed, list_ids=[contact_list.pk])
    assert (encoding, segments, credits) == ("GSM-7", 1, "2")


def test_composer_page_has_merge_buttons_templates_and_no_inline_script(tenant_a):
    Template.objects.create(org=tenant_a.org, name="Horaires", body="Ouvert dimanche {first_name|client}")
    add_contacts(tenant_a, 1)
    response = tenant_a.client().get(reverse("campaigns:create"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-insert="{first_name|' in html
    assert 'data-insert="{city}"' in html
    assert 'id="composer-templates"' in html and "Horaires" in html
    assert 'aria-live="polite"' in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)


def test_template_save_from_composer_and_reuse(tenant_a, tenant_b):
    client = tenant_a.client()
    response = client.post(
        reverse("campaigns:templates"),
        {"name": "Fête", "body": "Bonne fête {first_name|à vous} !"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    template = Template.objects.get(org=tenant_a.org, name="Fête")
    page = client.get(reverse("campaigns:create") + f"?template={template.pk}").content.decode()
    assert "Bonne fête {first_name|à vous} !" in page
    # Another organisation's template is not offered.
    other = Template.objects.create(org=tenant_b.org, name="Secret", body="Texte secret de B")
    page = client.get(reverse("campaigns:create") + f"?template={other.pk}").content.decode()
    assert "Texte secret de B" not in page
    assert client.post(reverse("campaigns:template_delete", args=[other.pk])).status_code == 404
    assert client.post(reverse("campaigns:template_delete", args=[template.pk])).status_code == 302
    assert not Template.objects.filter(pk=template.pk).exists()


def _verify_own_number(client, org, phone="06 12 34 56 78"):
    """The two steps of the composer's test box: a code sent by SMS, then typed back."""
    sent = client.post(reverse("campaigns:own_number_code"), {"phone": phone}, HTTP_HX_REQUEST="true")
    assert sent.status_code == 200, sent.content
    assert "own-number-code" in sent.content.decode()
    message = Message.objects.filter(org=org, reason="test_phone_code").latest("id")
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    return client.post(reverse("campaigns:own_number_confirm"), {"code": code}, HTTP_HX_REQUEST="true")


def test_test_send_goes_to_the_verified_own_number_only(tenant_a):
    client = tenant_a.client(Role.MARKETER)
    send = {"body": "Bonjour {first_name|Zoé}", "category": "marketing", "phone": "+33699999999"}
    refused = client.post(reverse("campaigns:test_send"), send, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "Verify your mobile number first" in refused.content.decode() or "Vérifiez" in (
        refused.content.decode()
    )
    assert not Message.objects.filter(org=tenant_a.org, reason="test_send").exists()

    confirmed = _verify_own_number(client, tenant_a.org)
    assert confirmed.status_code == 200, confirmed.content
    assert 'data-testid="test-send"' in confirmed.content.decode()
    user = tenant_a.users[Role.MARKETER]
    user.refresh_from_db()
    assert user.verified_test_phone == "+33612345678"
    assert user.test_phone_code_hash == ""  # nothing left to guess

    response = client.post(reverse("campaigns:test_send"), send, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content
    message = Message.objects.get(org=tenant_a.org, reason="test_send")
    # The posted number is ignored: a test only ever reaches the user's own, verified mobile.
    assert message.to == "+33612345678"
    assert message.body == "Bonjour Zoé STOP au 36111"
    assert message.category == "transactional"
    page = client.get(reverse("campaigns:create")).content.decode()
    assert "+33612345678" in page and 'data-testid="test-send"' in page
    assert tenant_a.client(Role.ANALYST).post(reverse("campaigns:test_send"), send).status_code == 403
    assert (
        tenant_a.client(Role.ANALYST)
        .post(reverse("campaigns:own_number_code"), {"phone": "0612345678"})
        .status_code
        == 403
    )


def test_own_number_verification_refuses_bad_input(tenant_a):
    from compliance.services import suppression_add

    client = tenant_a.client(Role.MARKETER)
    user = tenant_a.users[Role.MARKETER]
    bad = client.post(reverse("campaigns:own_number_code"), {"phone": "123"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()
    suppression_add(org=tenant_a.org, phone_e164="+33677777777", source="manual")
    stopped = client.post(
        reverse("campaigns:own_number_code"), {"phone": "06 77 77 77 77"}, HTTP_HX_REQUEST="true"
    )
    assert stopped.status_code == 400 and "START" in stopped.content.decode()
    assert not Message.objects.filter(org=tenant_a.org, reason="test_phone_code").exists()

    assert client.post(reverse("campaigns:own_number_code"), {"phone": "0612345678"}).status_code == 200
    # A second code within the minute would cost another SMS for nothing.
    again = client.post(reverse("campaigns:own_number_code"), {"phone": "0612345678"})
    assert again.status_code == 400
    assert Message.objects.filter(org=tenant_a.org, reason="test_phone_code").count() == 1

    for _ in range(5):
        wrong = client.post(reverse("campaigns:own_number_confirm"), {"code": "000000x"})
        assert wrong.status_code == 400
    user.refresh_from_db()
    assert user.test_phone_code_attempts == 5 and user.verified_test_phone == ""
    code = re.search(r"(\d{6})", Message.objects.get(reason="test_phone_code").body).group(1)
    locked_out = client.post(reverse("campaigns:own_number_confirm"), {"code": code})
    assert locked_out.status_code == 400  # even the right code, after five wrong ones
    user.refresh_from_db()
    assert user.verified_test_phone == ""


def test_an_expired_code_is_refused(tenant_a):
    from datetime import timedelta

    from django.utils import timezone

    from smsplatform.models import User

    client = tenant_a.client(Role.MARKETER)
    assert client.post(reverse("campaigns:own_number_code"), {"phone": "0612345678"}).status_code == 200
    code = re.search(r"(\d{6})", Message.objects.get(reason="test_phone_code").body).group(1)
    User.objects.filter(pk=tenant_a.users[Role.MARKETER].pk).update(
        test_phone_code_expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = client.post(reverse("campaigns:own_number_confirm"), {"code": code})
    assert expired.status_code == 400


def test_a_shop_without_credits_is_told_so_when_asking_for_a_code(tenant_a):
    from billing.selectors import credits_balance
    from billing.services import credits_debit

    credits_debit(org=tenant_a.org, amount=credits_balance(tenant_a.org), reference="test")
    client = tenant_a.client(Role.MARKETER)
    response = client.post(reverse("campaigns:own_number_code"), {"phone": "0612345678"})
    assert response.status_code == 402
    assert 'href="/billing/"' in response.content.decode()
    assert not Message.objects.filter(org=tenant_a.org, reason="test_phone_code").exists()


def test_fix_all_never_removes_accents_and_the_accent_choice_shows_the_text_received(tenant_a):
    client = tenant_a.client()
    body = "Les fêtes approchent – le vôtre est prêt : 20 % sur tout !"
    html, encoding, _segments, _credits = counter(client, body=body)
    assert encoding == "UCS-2"
    assert 'data-fix-all="1"' in html  # the dash
    assert 'data-testid="accent-choice"' in html and 'data-fix-all="accents"' in html
    assert "Les fetes approchent - le votre est pret : 20 % sur tout !" in html  # shown before choosing
    fixed = client.post(reverse("campaigns:fix"), {"body": body, "all": "1"}).json()["body"]
    assert fixed == "Les fêtes approchent - le vôtre est prêt : 20 % sur tout !"

    # Only accented letters left: no one-click fix to offer, the explicit choice stays.
    html, *_ = counter(client, body=fixed)
    assert 'data-fix-all="1"' not in html
    assert 'data-fix-all="accents"' in html
