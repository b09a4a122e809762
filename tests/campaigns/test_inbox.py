"""The inbox: conversations per number, a reply sent from the dashboard as a transactional SMS through
the pipeline, and near misses marked as reviewed from the conversation."""

from __future__ import annotations

import uuid

import pytest

from billing.selectors import credits_balance, credits_reserved
from campaigns.models import InboundMessage, Message, MessageCategory, MessageStatus
from campaigns.replies import inbound_receive
from compliance.selectors import suppressed_numbers
from smsplatform.models import Role

from .conftest import MONDAY_10H, make_audience, received

NUMBER = "+33612345678"


def _reply(org, number: str, text: str, n: int, **fields) -> InboundMessage:
    return InboundMessage.objects.create(
        org=org, gateway="loopback", provider_id=f"in-{org.pk}-{n}", from_number=number, text=text, **fields
    )


def _post_reply(client, inbound, text: str, key: str | None = None):
    return client.post(
        f"/campaigns/inbox/{inbound.pk}/reply/", {"text": text, "key": key or uuid.uuid4().hex}, follow=True
    )


@pytest.mark.django_db
def test_the_inbox_lists_one_conversation_per_number(tenant_a, tenant_b):
    org = tenant_a.org
    _reply(org, NUMBER, "Bonjour, vous livrez le dimanche ?", 1, needs_review=True)
    _reply(org, NUMBER, "Et à Lyon ?", 2, needs_review=True)
    _reply(org, "+33612345679", "Merci !", 3, needs_review=False)
    _reply(tenant_b.org, "+33699999999", "Secret de l'autre", 4, needs_review=True)
    client = tenant_a.client()

    html = client.get("/campaigns/inbox/").content.decode()
    assert html.count('data-testid="conversation-row"') == 1  # only the one with replies to check
    assert "Et à Lyon ?" in html and "Merci" not in html and "Secret" not in html
    html = client.get("/campaigns/inbox/?all=1").content.decode()
    assert html.count('data-testid="conversation-row"') == 2 and "Merci !" in html and "Secret" not in html


@pytest.mark.django_db
def test_a_conversation_shows_what_was_sent_and_replied(tenant_a, tenant_b, harness, loopback):
    contact_list, (contact,) = make_audience(tenant_a, 1, credits=10)
    from campaigns.services import sms_send_transactional

    sms_send_transactional(
        org=tenant_a.org, to=contact.phone, body="Votre commande est prête.", reason="test"
    )
    harness.run(now=MONDAY_10H)
    inbound, _ = inbound_receive(
        gateway="loopback", provider_id="r1", from_number=contact.phone, text="Merci, à quelle heure ?"
    )
    decoy = _reply(tenant_b.org, contact.phone, "Autre organisation", 9)
    client = tenant_a.client()

    page = client.get(f"/campaigns/inbox/{inbound.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Votre commande est prête." in html and "Merci, à quelle heure ?" in html
    assert html.index("Votre commande") < html.index("Merci, à quelle heure")  # oldest first
    assert "Autre organisation" not in html and 'data-testid="inbox-reply"' in html
    assert client.get(f"/campaigns/inbox/{decoy.pk}/").status_code == 404
    assert (
        client.post(f"/campaigns/inbox/{decoy.pk}/reply/", {"text": "x", "key": "0" * 32}).status_code == 404
    )


@pytest.mark.django_db
def test_a_reply_from_the_inbox_goes_through_the_pipeline_once_and_is_charged(
    tenant_a, harness, loopback, django_capture_on_commit_callbacks
):
    org = tenant_a.org
    contact_list, (contact,) = make_audience(tenant_a, 1, credits=10)
    inbound = _reply(org, contact.phone, "Vous êtes ouverts demain ?", 1, needs_review=True, contact=contact)
    balance = credits_balance(org)
    client = tenant_a.client()
    key = uuid.uuid4().hex

    with django_capture_on_commit_callbacks(execute=True):  # the batch task is enqueued on commit
        page = _post_reply(client, inbound, "Oui, de 9h à 19h.", key)
    assert page.redirect_chain[-1][0] == f"/campaigns/inbox/{inbound.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        _post_reply(client, inbound, "Oui, de 9h à 19h.", key)  # a double click: the same form key

    message = Message.objects.get(org=org, reason="inbox_reply")
    assert (message.to, message.body, message.category) == (
        contact.phone,
        "Oui, de 9h à 19h.",
        MessageCategory.TRANSACTIONAL,
    )
    assert message.contact_id == contact.pk and message.credits == 1
    assert credits_reserved(org) == 1
    harness.run()  # the batch task: on a Sunday night too, a transactional reply leaves at once
    assert received(loopback) == {contact.phone: 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert credits_balance(org) == balance - 1 and credits_reserved(org) == 0
    assert "Oui, de 9h à 19h." in client.get(f"/campaigns/inbox/{inbound.pk}/").content.decode()


@pytest.mark.django_db
def test_no_reply_to_a_number_that_opted_out_nor_without_credits_nor_empty(tenant_a, harness, loopback):
    org = tenant_a.org
    contact_list, (stopped, poor) = make_audience(tenant_a, 2)
    stop, _ = inbound_receive(
        gateway="loopback", provider_id="s1", from_number=stopped.phone, text="STOP", org=org
    )
    asked = _reply(org, poor.phone, "Des roses ?", 2, needs_review=True)
    client = tenant_a.client()

    page = client.get(f"/campaigns/inbox/{stop.pk}/").content.decode()
    assert 'data-testid="conversation-opted-out"' in page and 'data-testid="inbox-reply"' not in page
    html = _post_reply(client, stop, "Pourquoi ?").content.decode()
    assert "opted out" in html or "désinscrit" in html
    assert not Message.objects.filter(org=org, reason="inbox_reply").exists()

    balance = credits_balance(org)
    if balance:
        from billing.services import credits_debit

        credits_debit(org=org, amount=balance, reference="test")
    html = _post_reply(client, asked, "Oui, 10 euros le bouquet.").content.decode()
    assert "credits" in html.lower() or "crédits" in html.lower()
    _post_reply(client, asked, "   ")
    assert not Message.objects.filter(org=org, reason="inbox_reply").exists()
    assert suppressed_numbers(org, [stopped.phone]) == {stopped.phone}


@pytest.mark.django_db
def test_a_near_miss_is_marked_reviewed_from_its_conversation_and_stays_an_opt_out(
    tenant_a, harness, loopback
):
    org = tenant_a.org
    contact_list, (contact,) = make_audience(tenant_a, 1, credits=5)
    near, _ = inbound_receive(
        gateway="loopback", provider_id="n1", from_number=contact.phone, text="stopp", org=org
    )
    assert near.kind == "near_miss_opt_out" and near.needs_review
    client = tenant_a.client()
    url = f"/campaigns/inbox/{near.pk}/"
    assert 'data-testid="mark-reviewed"' in client.get(url).content.decode()

    response = client.post(f"/campaigns/inbox/{near.pk}/reviewed/", {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    near.refresh_from_db()
    assert not near.needs_review
    assert suppressed_numbers(org, [contact.phone]) == {contact.phone}  # reviewed, still an opt-out
    assert 'data-testid="mark-reviewed"' not in client.get(url).content.decode()
    assert "stopp" not in client.get("/campaigns/inbox/").content.decode()  # nothing left to check
    # A foreign "next" is not followed.
    other = _reply(org, contact.phone, "??", 5, needs_review=True)
    response = client.post(f"/campaigns/inbox/{other.pk}/reviewed/", {"next": "https://evil.example/"})
    assert response["Location"] == "/campaigns/inbox/"


@pytest.mark.django_db
def test_an_analyst_reads_the_inbox_but_cannot_reply(tenant_a):
    inbound = _reply(tenant_a.org, NUMBER, "Bonjour", 1, needs_review=True)
    client = tenant_a.client(Role.ANALYST)
    html = client.get(f"/campaigns/inbox/{inbound.pk}/").content.decode()
    assert "Bonjour" in html and 'data-testid="inbox-reply"' not in html
    assert (
        client.post(f"/campaigns/inbox/{inbound.pk}/reply/", {"text": "x", "key": "0" * 32}).status_code
        == 403
    )
    assert not Message.objects.exists()
