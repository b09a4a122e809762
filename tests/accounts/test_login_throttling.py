"""Log-in throttling on allauth's rate limits: per account (its email, from any address) and per client
address (whatever the emails; an IPv6 /64 is one address), the address read behind trusted proxies only.

The limits are set small here; production's are in settings.ACCOUNT_RATE_LIMITS["login_failed"]."""

from __future__ import annotations

import re
import time
import types

import pytest
from django.core import mail
from django.test import Client

from smsplatform.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
LOCKED = "Too many failed log-in attempts"


@pytest.fixture(autouse=True)
def limits(settings):
    # 3 failures per account in 15 minutes, 5 per address in an hour.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "5/1h/ip,3/15m/key"}


@pytest.fixture
def clock(monkeypatch):
    """allauth's rate limits read time.time(): this moves it forward without waiting."""
    offset = {"seconds": 0.0}
    fake = types.SimpleNamespace(
        time=lambda: time.time() + offset["seconds"], monotonic=time.monotonic, sleep=time.sleep
    )
    monkeypatch.setattr("allauth.core.internal.ratelimit.time", fake)
    return lambda minutes: offset.__setitem__("seconds", offset["seconds"] + minutes * 60)


def log_in(email: str, password: str, ip: str = ATTACKER, **headers):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(
        "/accounts/login/", {"login": email, "password": password}, HTTP_ACCEPT_LANGUAGE="en", **headers
    )
    return response


def logged_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def test_guessing_one_account_from_many_addresses_is_locked(tenant_a):
    email = tenant_a.owner.email
    for n in range(3):
        assert not logged_in(log_in(email, "wrong", ip=f"198.51.100.{n}"))
    # From yet another address, even the right password is refused: the account is locked, not the pair.
    refused = log_in(email, PASSWORD, ip="192.0.2.200")
    assert not logged_in(refused)
    assert LOCKED in refused.content.decode()
    # Another account is not affected.
    assert logged_in(log_in(tenant_a.user("admin").email, PASSWORD, ip="192.0.2.200"))


def test_spraying_many_accounts_from_one_address_is_locked(tenant_a):
    for n in range(5):
        assert not logged_in(log_in(f"victim{n}@example.com", "Summer2026!"))
    refused = log_in(tenant_a.owner.email, PASSWORD)
    assert not logged_in(refused)
    assert LOCKED in refused.content.decode()
    # The same account from its owner's own address still logs in: only the spraying address is locked.
    assert logged_in(log_in(tenant_a.owner.email, PASSWORD, ip="192.0.2.10"))


def test_rotating_addresses_inside_one_ipv6_64_is_one_address(tenant_a):
    for n in range(5):
        log_in(f"victim{n}@example.com", "wrong", ip=f"2001:db8:1:2::{n + 1:x}")
    assert not logged_in(log_in(tenant_a.owner.email, PASSWORD, ip="2001:db8:1:2::ffff"))
    assert logged_in(log_in(tenant_a.owner.email, PASSWORD, ip="2001:db8:1:3::1"))


def test_a_forged_forwarded_for_does_not_escape_the_address_limit(tenant_a, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    for n in range(5):
        log_in(f"victim{n}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    refused = log_in(tenant_a.owner.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert not logged_in(refused)


def test_behind_the_trusted_proxy_each_client_has_its_own_bucket(tenant_a, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    for n in range(5):
        log_in(f"victim{n}@example.com", "wrong", ip="10.0.0.2", HTTP_X_FORWARDED_FOR=ATTACKER)
    assert not logged_in(log_in(tenant_a.owner.email, PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR=ATTACKER))
    # Another visitor relayed by the same proxy is a different address, not locked with the attacker.
    assert logged_in(log_in(tenant_a.owner.email, PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.44"))


def test_a_lock_ends_after_its_window_and_refused_attempts_do_not_prolong_it(tenant_a, clock):
    email = tenant_a.owner.email
    for _ in range(3):
        log_in(email, "wrong", ip="198.51.100.1")
    clock(10)
    # Refused while locked, unchecked: it does not count as a failure, so it does not push the end back.
    assert not logged_in(log_in(email, "wrong-again", ip="198.51.100.1"))
    clock(6)  # 16 minutes after the failures
    assert logged_in(log_in(email, PASSWORD, ip="198.51.100.1"))


def test_a_password_reset_by_email_unlocks_the_account(tenant_a):
    email = tenant_a.owner.email
    for n in range(3):
        log_in(email, "wrong", ip=f"198.51.100.{n}")
    assert not logged_in(log_in(email, PASSWORD, ip="192.0.2.7"))
    owner = Client(REMOTE_ADDR="192.0.2.7")
    owner.post("/accounts/password/reset/", {"email": email})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_url = owner.get(link)["Location"]
    done = owner.post(form_url, {"password1": "A-brand-new-pw-42", "password2": "A-brand-new-pw-42"})
    assert done.status_code == 302
    assert logged_in(log_in(email, "A-brand-new-pw-42", ip="192.0.2.7"))
    assert User.objects.get(email=email).check_password("A-brand-new-pw-42")
