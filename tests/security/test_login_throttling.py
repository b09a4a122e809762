"""Hole 9: log-in throttling locked only (email, address) pairs, so spraying many accounts from one address
or guessing one account from many addresses was never slowed down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db.models import F
from django.test import Client
from django.utils import timezone

from smsplatform.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3  # per account
    settings.LOGIN_IP_FAILURE_LIMIT = 5  # per address


def log_in(email: str, password: str, ip: str = ATTACKER, **headers):
    return Client(REMOTE_ADDR=ip).post(
        "/login/", {"username": email, "password": password}, HTTP_ACCEPT_LANGUAGE="en", **headers
    )


def time_passes(minutes: int) -> None:
    """Moves every recorded attempt back in time (the same as waiting, without waiting)."""
    delta = timedelta(minutes=minutes)
    for model in (AccessFailureLog, AccessAttempt, AccessLog):
        model.objects.update(attempt_time=F("attempt_time") - delta)


def retry_time_shown(response, after: timedelta) -> bool:
    last_failure = AccessAttempt.objects.order_by("-attempt_time").first().attempt_time
    expected = timezone.localtime(last_failure + after).strftime("%H:%M")
    return expected in response.content.decode()


def test_spraying_many_accounts_from_one_address_is_locked(tenant_a):
    for n in range(5):
        log_in(f"someone{n}@example.com", "Guess-1234")
    # Even a real account with its right password is refused from that address now...
    locked = log_in(tenant_a.owner.email, PASSWORD)
    assert locked.status_code == 429
    assert not locked.wsgi_request.user.is_authenticated
    # ...and forging X-Forwarded-For (we are not behind a trusted proxy) does not make a new address.
    assert log_in(tenant_a.owner.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # Another address is not affected.
    assert log_in(tenant_a.owner.email, PASSWORD, ip="198.51.100.8").status_code == 302


def test_rotating_addresses_inside_one_ipv6_64_is_one_address(tenant_a):
    for n in range(5):
        log_in(f"someone{n}@example.com", "Guess-1234", ip=f"2001:db8:1:2::{n + 1:x}")
    assert log_in(tenant_a.owner.email, PASSWORD, ip="2001:db8:1:2::ffff").status_code == 429


def test_guessing_one_account_from_many_addresses_is_locked_but_not_for_its_usual_address(tenant_a):
    owner = tenant_a.owner.email
    shop = "192.0.2.10"
    assert log_in(owner, PASSWORD, ip=shop).status_code == 302  # the owner's usual address
    for n in range(3):
        log_in(owner.upper() if n else owner, "Guess-1234", ip=f"198.51.100.{n + 1}")
    assert log_in(owner, PASSWORD, ip="198.51.100.200").status_code == 429
    # The owner, from the shop, is not kept out by a stranger's guesses.
    assert log_in(owner, PASSWORD, ip=shop).status_code == 302


def test_a_lock_says_when_to_retry_grows_with_further_failures_then_expires(tenant_a):
    owner = tenant_a.owner.email
    for _ in range(2):
        log_in(owner, "Guess-1234")
    third = log_in(owner, "Guess-1234")
    assert third.status_code == 429  # the failure that reaches the limit locks at once
    assert retry_time_shown(third, timedelta(minutes=15))

    time_passes(16)
    again = log_in(owner, "Guess-5678")
    assert again.status_code == 429  # one more failure after a lock: locked again, twice as long
    assert retry_time_shown(again, timedelta(minutes=30))
    time_passes(16)
    assert log_in(owner, PASSWORD).status_code == 429
    time_passes(15)
    assert log_in(owner, PASSWORD).status_code == 302


def test_attempts_during_a_lock_do_not_prolong_it(tenant_a):
    owner = tenant_a.owner.email
    for _ in range(3):
        log_in(owner, "Guess-1234")
    time_passes(10)
    for _ in range(5):
        assert log_in(owner, "Guess-1234").status_code == 429
    time_passes(6)
    assert log_in(owner, PASSWORD).status_code == 302


def test_logging_in_to_ones_own_account_does_not_reset_the_address_counter(tenant_a):
    own = User.objects.create_user(email="attacker@example.com", password=PASSWORD)
    for round_ in range(3):
        for n in range(2):
            log_in(f"victim{round_}{n}@example.com", "Guess-1234")
        if round_ < 2:
            assert log_in(own.email, PASSWORD).status_code == 302
    assert log_in(tenant_a.owner.email, PASSWORD).status_code == 429
