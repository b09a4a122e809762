"""Shared fixtures: two organisations with a user of every role, so that every test of a list or a detail
can put a decoy in the other organisation."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import Client
from rest_framework.test import APIClient

from smsplatform.models import Membership, Organisation, Role, User
from smsplatform.onboarding import signup
from smsplatform.services import api_key_create

PASSWORD = "Long-enough-pw-1"


@dataclass
class Tenant:
    org: Organisation
    owner: User
    users: dict[str, User] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.users[role]

    def client(self, role: str = Role.OWNER) -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client

    def api(self, role: str = Role.ADMIN) -> APIClient:
        key = api_key_create(org=self.org, actor=self.owner, name=f"test {role}", role=role).raw_key
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client


def make_tenant(name: str, email_prefix: str, country: str = "FR") -> Tenant:
    owner, org = signup(
        email=f"{email_prefix}-owner@example.com", password=PASSWORD, org_name=name, country=country
    )
    tenant = Tenant(org=org, owner=owner, users={Role.OWNER: owner})
    for role in (Role.ADMIN, Role.MARKETER, Role.ANALYST):
        user = User.objects.create_user(email=f"{email_prefix}-{role}@example.com", password=PASSWORD)
        Membership.objects.create(org=org, user=user, role=role)
        tenant.users[role] = user
    return tenant


def signup_form(**changes) -> dict:
    """What the sign-up page posts for a new shop, with ``changes``."""
    data = {
        "org_name": "Salon Coiffure Élodie",
        "email": "elodie@example.fr",
        "password1": "Tres-long-mot2passe",
        "country": "FR",
        "accept_terms": "on",
    }
    return {**data, **changes}


def org_settings_form(org: Organisation, **changes) -> dict:
    """What the settings page posts for ``org`` as it stands, with ``changes``."""
    data = {
        "name": org.name,
        "legal_name": org.legal_name,
        "brand": org.brand,
        "country": org.country,
        "timezone": org.timezone,
        "default_sender_id": org.default_sender_id,
        "stop_mention": org.stop_mention,
        "rule_pack": org.rule_pack,
    }
    return {**data, **changes}


@pytest.fixture
def tenant_a(db) -> Tenant:
    return make_tenant("Fleurs de Lys", "a")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return make_tenant("Boulangerie Martin", "b")


@pytest.fixture
def operator_client(db) -> Client:
    """A platform operator (Django superuser) logged in to the admin."""
    operator = User.objects.create_superuser(email="ops@example.com", password=PASSWORD)
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; tests create dozens of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings, tmp_path):
    # Throttling and rate limits live in the cache: a fresh one per test keeps tests independent.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}
    }
    from django.core.cache import cache

    cache.clear()
