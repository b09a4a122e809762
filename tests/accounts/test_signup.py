"""Sign-up on allauth: the account, its organisation and 100 credits at once; the sandbox works before
the address is verified, real money waits for it."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from billing.selectors import credits_balance
from smsplatform.models import Membership, Organisation, Role, User
from tests.conftest import signup_form

pytestmark = pytest.mark.django_db

FORM = signup_form(email="Elodie@Example.fr")


def sign_up(client: Client | None = None, **extra):
    client = client or Client()
    response = client.post("/accounts/signup/", {**FORM, **extra})
    return client, response


def link_in(message) -> str:
    return re.search(r"https?://testserver(/\S+)", message.body).group(1)


def test_sign_up_creates_the_account_the_organisation_and_the_credits_and_logs_in():
    client, response = sign_up()
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == "/"
    user = User.objects.get(email="elodie@example.fr")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.org.name == "Salon Coiffure Élodie"
    assert credits_balance(membership.org) == 100
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "100" in dashboard.content.decode()
    # The verification email went out; the address is not verified yet.
    assert [m.to for m in mail.outbox] == [["elodie@example.fr"]]
    assert EmailAddress.objects.get(user=user).verified is False
    assert "/accounts/confirm-email/" in mail.outbox[0].body


def test_the_emailed_link_verifies_the_address_after_one_click():
    client, _ = sign_up()
    link = link_in(mail.outbox[0])
    page = client.get(link)
    assert page.status_code == 200
    # Opening the link (as a mail scanner does) verifies nothing: the button does.
    assert EmailAddress.objects.get(email="elodie@example.fr").verified is False
    client.post(link)
    assert EmailAddress.objects.get(email="elodie@example.fr").verified is True


def test_a_refused_form_creates_nothing():
    _, response = sign_up(password1="123")
    assert response.status_code == 200
    assert not User.objects.exists()
    assert not Organisation.objects.exists()


def test_the_language_of_the_sign_up_page_is_recorded_for_later_emails():
    Client().post("/accounts/signup/", FORM, HTTP_ACCEPT_LANGUAGE="en")
    assert User.objects.get(email="elodie@example.fr").language == "en"


def test_a_mail_server_that_is_down_does_not_lose_the_sign_up(settings, caplog):
    import socket

    with socket.socket() as probe:  # a port where nothing listens: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    client, response = sign_up()
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert Membership.objects.filter(user__email="elodie@example.fr", role=Role.OWNER).exists()
    assert "could not be sent" in caplog.text
