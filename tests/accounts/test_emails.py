"""The account emails come from our templates, in the language of the request that caused them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from smsplatform.models import Role
from smsplatform.services import invitation_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "subject", "words"),
    [
        ("fr", "Choisissez un nouveau mot de passe", "Le lien ne fonctionne qu'une fois"),
        ("en", "Choose a new password", "The link works once"),
    ],
)
def test_the_password_reset_email_speaks_the_language_of_the_page(tenant_a, language, subject, words):
    Client().post("/accounts/password/reset/", {"email": tenant_a.owner.email}, HTTP_ACCEPT_LANGUAGE=language)
    (message,) = mail.outbox
    assert subject in message.subject
    assert words in message.body
    assert "/accounts/password/reset/key/" in message.body


@pytest.mark.parametrize(
    ("language", "words"), [("fr", "vous invite à rejoindre"), ("en", "invites you to join")]
)
def test_the_invitation_comes_from_its_template_in_the_inviters_language(
    tenant_a, django_capture_on_commit_callbacks, language, words
):
    with translation.override(language), django_capture_on_commit_callbacks(execute=True):
        created = invitation_create(
            org=tenant_a.org, actor=tenant_a.owner, email="new@example.com", role=Role.ANALYST
        )
    (message,) = mail.outbox
    assert words in message.body and tenant_a.org.name in message.body
    assert created.url in message.body
