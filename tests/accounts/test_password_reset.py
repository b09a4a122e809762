"""Password reset by email on allauth's token flow: the same answer for a known and an unknown address,
a link that expires and works once."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client

from smsplatform.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "A-brand-new-pw-42"


def ask_reset(email: str) -> tuple[Client, object]:
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": email}, HTTP_ACCEPT_LANGUAGE="en")
    return client, response


def reset_link(email: str) -> str:
    body = next(m.body for m in reversed(mail.outbox) if email in m.to)
    return re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", body).group(1)


def normalised(response, email: str) -> tuple:
    page = response.content.decode().replace(email, "EMAIL")
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    page = re.sub(r'name="csrf-token" content="[^"]+"', "", page)
    page = re.sub(r'"X-CSRFToken": "[^"]+"', "", page)
    return response.status_code, response.get("Location"), page


def test_an_unknown_address_gets_exactly_the_same_answer_as_a_known_one(tenant_a):
    known, unknown = tenant_a.owner.email, "nobody-here@example.com"
    answers = []
    for email in (known, unknown):
        client, response = ask_reset(email)
        answers.append((normalised(response, email), normalised(client.get(response["Location"]), email)))
    assert answers[0] == answers[1]
    assert answers[0][0][0] == 302
    # Each address got one email: the link for the account, a "no account here" notice for the other.
    assert [m.to for m in mail.outbox] == [[known], [unknown]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body


def test_the_emailed_link_sets_a_new_password_once(tenant_a):
    email = tenant_a.owner.email
    client, _ = ask_reset(email)
    link = reset_link(email)
    form_url = client.get(link)["Location"]
    assert client.post(form_url, {"password1": NEW, "password2": NEW}).status_code == 302
    assert User.objects.get(email=email).check_password(NEW)
    # The same link again: the token was bound to the old password, so it is dead.
    again = Client()
    page = again.get(link)
    follow = again.get(page["Location"]) if page.status_code == 302 else page
    assert 'name="password1"' not in follow.content.decode()
    assert again.post(
        link, {"password1": "Third-password-77", "password2": "Third-password-77"}
    ).status_code in (
        200,
        302,
    )
    assert User.objects.get(email=email).check_password(NEW)


def test_an_expired_link_is_refused(tenant_a, settings):
    email = tenant_a.owner.email
    ask_reset(email)
    link = reset_link(email)
    later = PasswordResetTokenGenerator()._now().timestamp() + settings.PASSWORD_RESET_TIMEOUT + 60
    from datetime import datetime

    with mock.patch.object(PasswordResetTokenGenerator, "_now", lambda self: datetime.fromtimestamp(later)):
        client = Client()
        page = client.get(link)
        follow = client.get(page["Location"]) if page.status_code == 302 else page
        assert 'name="password1"' not in follow.content.decode()
        client.post(follow.request["PATH_INFO"], {"password1": NEW, "password2": NEW})
    owner = User.objects.get(email=email)
    assert owner.check_password(PASSWORD) and not owner.check_password(NEW)


def test_a_reset_ends_the_sessions_that_were_open(tenant_a):
    email = tenant_a.owner.email
    elsewhere = tenant_a.client()
    assert elsewhere.get("/").status_code == 200
    client, _ = ask_reset(email)
    form_url = client.get(reset_link(email))["Location"]
    client.post(form_url, {"password1": NEW, "password2": NEW})
    assert elsewhere.get("/").status_code == 302
