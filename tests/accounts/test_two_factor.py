"""Two-factor on allauth's mfa app: TOTP and recovery codes for any user, the owners' "every member must
use it" setting, and the operator's rule for the owners of organisations on a real gateway."""

from __future__ import annotations

import time
import types

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from smsplatform.models import Organisation, Role
from tests.accounts.totp import totp
from tests.conftest import PASSWORD, org_settings_form, signup_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """allauth's TOTP check reads time.time(): the tests move it to the next 30-second step rather than
    wait, since a code already used in a step is refused."""
    state = {"now": time.time()}
    monkeypatch.setattr(
        "allauth.mfa.totp.internal.auth.time", types.SimpleNamespace(time=lambda: state["now"])
    )

    class Clock:
        @staticmethod
        def now() -> float:
            return state["now"]

        @staticmethod
        def next_step() -> None:
            state["now"] += 30

    return Clock


def enrol(client: Client, clock) -> list[str]:
    """Turns TOTP on through the pages, as a user does; returns the recovery codes shown afterwards."""
    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        # allauth asks for the password again before a security change (the session may be old).
        assert client.post(page["Location"], {"password": PASSWORD}).status_code == 302
        page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret, clock.now())})
    assert response.status_code == 302, response.content.decode()[:2000]
    codes = client.get("/accounts/2fa/recovery-codes/").context["unused_codes"]
    clock.next_step()
    return secret, list(codes)


def password_step(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not response.wsgi_request.user.is_authenticated
    return client


def test_a_user_turns_on_totp_and_then_needs_a_code_to_log_in(tenant_a, clock):
    secret, codes = enrol(tenant_a.client(Role.MARKETER), clock)
    assert len(codes) == 10
    email = tenant_a.user(Role.MARKETER).email
    client = password_step(email)
    assert client.get("/").status_code == 302  # not in yet
    wrong = client.post(
        "/accounts/2fa/authenticate/",
        {"code": "000000" if totp(secret, clock.now()) != "000000" else "111111"},
    )
    assert wrong.status_code == 200 and not wrong.wsgi_request.user.is_authenticated
    right = client.post("/accounts/2fa/authenticate/", {"code": totp(secret, clock.now())})
    assert right.status_code == 302
    assert client.get("/").status_code == 200


def test_a_recovery_code_works_once(tenant_a, clock):
    _secret, codes = enrol(tenant_a.client(Role.ANALYST), clock)
    email = tenant_a.user(Role.ANALYST).email
    first = password_step(email)
    assert first.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert first.get("/").status_code == 200
    second = password_step(email)
    refused = second.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    assert second.post("/accounts/2fa/authenticate/", {"code": codes[1]}).status_code == 302


def test_an_owner_requires_two_factor_and_a_member_is_held_until_they_enrol(tenant_a, clock):
    owner = tenant_a.client(Role.OWNER)
    # Not before the owner uses it themselves: they would lock themselves out of their own settings.
    form = {**org_settings_form(tenant_a.org), "require_mfa": "on"}
    refused = owner.post("/settings/", form)
    assert refused.status_code == 200 and "require_mfa" in refused.context["form"].errors
    enrol(owner, clock)
    assert owner.post("/settings/", form).status_code == 302
    assert Organisation.objects.get(pk=tenant_a.org.pk).require_mfa

    member = tenant_a.client(Role.MARKETER)
    for url in ("/", "/contacts/", "/campaigns/"):
        held = member.get(url)
        assert held.status_code == 302 and held["Location"] == "/accounts/2fa/totp/activate/", url
    assert member.get("/api/v1/contacts").status_code == 403  # the browser session on the API too
    assert tenant_a.api(Role.MARKETER).get("/api/v1/contacts").status_code == 200  # API keys unaffected
    enrol(member, clock)
    assert member.get("/contacts/").status_code == 200
    assert member.get("/api/v1/contacts").status_code == 200


def test_only_an_owner_changes_the_requirement(tenant_a, clock):
    admin = tenant_a.client(Role.ADMIN)
    enrol(admin, clock)
    admin.post("/settings/", {**org_settings_form(tenant_a.org), "require_mfa": "on"})
    assert not Organisation.objects.get(pk=tenant_a.org.pk).require_mfa
    # The admin sees the setting, greyed out.
    field = admin.get("/settings/").context["form"]["require_mfa"]
    assert field.field.disabled and "disabled" in str(field)


def test_the_operator_requires_two_factor_of_owners_on_a_real_gateway(tenant_a, tenant_b, settings, clock):
    settings.MFA_REQUIRED_FOR_OWNERS_ON_REAL_GATEWAY = True
    Organisation.objects.filter(pk=tenant_a.org.pk).update(sms_gateway="twilio")
    held = tenant_a.client(Role.OWNER).get("/")
    assert held.status_code == 302 and held["Location"] == "/accounts/2fa/totp/activate/"
    # Other members are not concerned by the operator's rule, nor owners still on the sandbox.
    assert tenant_a.client(Role.MARKETER).get("/").status_code == 200
    assert tenant_b.client(Role.OWNER).get("/").status_code == 200
    owner = tenant_a.client(Role.OWNER)
    enrol(owner, clock)
    assert owner.get("/").status_code == 200
    assert Authenticator.objects.filter(user=tenant_a.owner, type=Authenticator.Type.TOTP).exists()


def test_the_secret_is_stored_encrypted_and_survives_a_secret_key_rotation(tenant_a, clock, settings):
    secret, _codes = enrol(tenant_a.client(Role.MARKETER), clock)
    stored = Authenticator.objects.get(user=tenant_a.user(Role.MARKETER), type=Authenticator.Type.TOTP)
    assert secret not in str(stored.data)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-after-a-rotation-0123456789"
    client = password_step(tenant_a.user(Role.MARKETER).email)
    assert client.post("/accounts/2fa/authenticate/", {"code": totp(secret, clock.now())}).status_code == 302


def test_two_factor_waits_for_the_verified_address_and_says_so(db):
    client = Client()
    form = signup_form(org_name="Lilas", email="lilas@example.fr", password1=PASSWORD)
    assert client.post("/accounts/signup/", form).status_code == 302
    # allauth turns the visitor back before anything else: someone who signed up with another person's
    # address must not lock its real owner out with a second factor.
    refused = client.get("/accounts/2fa/totp/activate/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Confirm your email address first" in refused.content.decode()
    assert not Authenticator.objects.filter(user__email="lilas@example.fr").exists()


def test_the_log_in_form_names_the_field_as_the_sign_up_does(db):
    page = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<label for="id_login">Adresse e-mail' in page


@pytest.mark.django_db(transaction=True)
def test_turning_two_factor_on_is_notified_by_email(tenant_a, clock):
    # Someone who got into the account must not add their own phone unnoticed. Real commits: allauth
    # sends it once the activation is committed, inside the request.
    enrol(tenant_a.client(Role.OWNER), clock)
    assert [m.to for m in mail.outbox] == [[tenant_a.owner.email]]
    assert "double authentification" in mail.outbox[0].subject.lower()
