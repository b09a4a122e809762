"""Hole 11 (part): the sign-up form told anyone whether an email address has an account here."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from billing.selectors import credits_balance
from smsplatform.models import Membership, Organisation, Role, User

pytestmark = pytest.mark.django_db

FORM = {
    "org_name": "Salon Coiffure Élodie",
    "password": "Tres-long-mot2passe",
    "country": "FR",
    "accept_terms": "on",
}


def sign_up(email: str, django_capture_on_commit_callbacks, **extra):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signup/", {**FORM, "email": email, **extra})
    return client, response


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0).split("testserver", 1)[-1]


def test_a_known_and_an_unknown_address_get_the_same_answer(tenant_a, django_capture_on_commit_callbacks):
    known = tenant_a.owner.email
    unknown = "nobody-yet@example.com"
    answers = []
    for email in (known, unknown):
        client, response = sign_up(email, django_capture_on_commit_callbacks)
        page = client.get(response["Location"]) if response.status_code == 302 else response
        next_page = client.get("/")
        answers.append(
            (
                response.status_code,
                response.get("Location"),
                page.status_code,
                re.sub(r'"[A-Za-z0-9]{32,}"', '"TOKEN"', page.content.decode().replace(email, "EMAIL")),
                next_page.status_code,
                next_page.get("Location"),
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == 302
    # Neither visitor is logged in, and nothing was created yet for the unknown address.
    assert answers[0][4] == 302
    assert not User.objects.filter(email=unknown).exists()


def test_the_holder_of_a_known_address_is_told_by_email(tenant_a, django_capture_on_commit_callbacks):
    owner = tenant_a.owner
    password_before = owner.password
    sign_up(owner.email.upper(), django_capture_on_commit_callbacks, org_name="Usurpateur")
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "/login/" in mail.outbox[0].body
    assert "/signup/confirm/" not in mail.outbox[0].body
    owner.refresh_from_db()
    assert owner.password == password_before
    assert not Organisation.objects.filter(name="Usurpateur").exists()


def test_a_new_address_creates_the_account_once_the_emailed_link_is_used(
    db, django_capture_on_commit_callbacks
):
    client, response = sign_up("elodie@example.fr", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["elodie@example.fr"]]
    link = link_in(mail.outbox[0])
    assert "Salon" not in mail.outbox[0].body  # text typed by the visitor is not mailed to anyone

    # Opening the link (as a mail scanner would) creates nothing; the button does.
    assert Client().get(link).status_code == 200
    assert not User.objects.filter(email="elodie@example.fr").exists()
    created = client.post(link)
    assert created.status_code == 302 and created["Location"] == "/"
    user = User.objects.get(email="elodie@example.fr")
    assert user.check_password(FORM["password"])
    org = Organisation.objects.get(name=FORM["org_name"])
    assert Membership.objects.get(user=user, org=org).role == Role.OWNER
    assert credits_balance(org) == 100
    assert client.get("/").status_code == 200
    # The link works once.
    assert Client().post(link).status_code == 400
    assert Organisation.objects.filter(name=FORM["org_name"]).count() == 1


def test_the_form_cannot_flood_an_inbox(tenant_a, django_capture_on_commit_callbacks):
    for email in [tenant_a.owner.email] * 5 + ["victim@example.com"] * 5:
        sign_up(email, django_capture_on_commit_callbacks)
    sent_to = [m.to[0] for m in mail.outbox]
    assert sent_to.count(tenant_a.owner.email) == 3
    assert sent_to.count("victim@example.com") == 3
