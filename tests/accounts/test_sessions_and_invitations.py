"""A user sees their sessions and ends the others; a password change ends them too. Invitations keep
their rules (single use, bound to the invited address, expiry) and end in allauth's sign-up or log-in."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.utils import timezone

from smsplatform.models import Invitation, Membership, Role
from smsplatform.services import invitation_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def log_in(email: str, agent: str, password: str = PASSWORD) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    response = client.post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302
    return client


def test_a_user_sees_their_sessions_and_ends_the_others(tenant_a):
    email = tenant_a.owner.email
    laptop = log_in(email, "Firefox on the shop's laptop")
    phone = log_in(email, "Safari on an iPhone")
    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Firefox on the shop" in html and "Safari on an iPhone" in html
    assert UserSession.objects.filter(user=tenant_a.owner).count() == 2
    laptop.post("/accounts/sessions/")
    assert phone.get("/").status_code == 302  # logged out there
    assert laptop.get("/").status_code == 200  # not here
    assert UserSession.objects.filter(user=tenant_a.owner).count() == 1


def test_a_password_change_ends_the_other_sessions(tenant_a):
    email = tenant_a.owner.email
    laptop = log_in(email, "Firefox")
    phone = log_in(email, "Safari")
    new = "Another-long-pw-31"
    response = laptop.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new}
    )
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def invite(tenant, email: str, role: str = Role.MARKETER) -> str:
    created = invitation_create(org=tenant.org, actor=tenant.owner, email=email, role=role)
    return urlparse(created.url).path


def test_someone_with_an_account_logs_in_then_joins(tenant_a, tenant_b):
    path = invite(tenant_a, tenant_b.owner.email)
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    login_url = page.context["login_url"]
    response = visitor.post(login_url, {"login": tenant_b.owner.email, "password": PASSWORD})
    assert response["Location"] == path  # back to the invitation
    visitor.post(path)
    assert Membership.objects.get(user=tenant_b.owner, org=tenant_a.org).role == Role.MARKETER
    assert visitor.get(path).status_code == 404  # used once


def test_another_account_cannot_use_an_invitation(tenant_a, tenant_b):
    path = invite(tenant_a, "someone-else@example.com")
    intruder = log_in(tenant_b.owner.email, "Firefox")
    page = intruder.get(path)
    assert page.context["other_user"] is True
    intruder.post(path)
    assert not Membership.objects.filter(user=tenant_b.owner, org=tenant_a.org).exists()
    assert Invitation.objects.get(email="someone-else@example.com").accepted_at is None


def test_an_expired_invitation_is_refused_at_the_link_and_at_the_sign_up(tenant_a):
    path = invite(tenant_a, "late@example.com")
    visitor = Client()
    assert visitor.get(path).status_code == 200
    Invitation.objects.filter(email="late@example.com").update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert Client().get(path).status_code == 404
    # The visitor who opened it in time and signs up after the expiry joins nothing.
    response = visitor.post("/accounts/signup/", {"password1": "Another-long-pw-9", "accept_terms": "on"})
    assert not Membership.objects.filter(user__email="late@example.com").exists()
    assert response.status_code == 200
