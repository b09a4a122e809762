"""Log-in throttling per account and per client address, each with its own limit and a growing cool-off.

django-axes records the failures and refuses a locked log-in before any password is checked; this module
decides what "locked" means (``AXES_HANDLER``). Axes alone counts (email, address) pairs, so spraying many
accounts from one address, or one account from many addresses, was never slowed down. Here:

- an account is locked after ``AXES_FAILURE_LIMIT`` failures on its email, from any address, except from
  an address where it logged in successfully in the last ``LOGIN_FAMILIAR_IP_DAYS`` days: there only the
  failures from that address count, so that an attacker elsewhere cannot keep the owner out of their shop;
- an address is locked after ``LOGIN_IP_FAILURE_LIMIT`` failures, whatever the emails (an IPv6 /64 counts
  as one address: one subscriber gets a whole /64). Failures on an email that then logged in from it are
  typos, not guesses, and do not count: a shared office address is not locked by its own users;
- a lock lasts ``LOGIN_COOLOFF_BASE_MINUTES`` after the last failure, doubled for each failure beyond
  the limit, at most ``LOGIN_COOLOFF_MAX_HOURS``. Attempts refused during a lock check no password, so
  they are not counted and do not prolong it: once the cool-off is over, the right password gets in;
- failures are forgotten after ``LOGIN_THROTTLE_WINDOW_HOURS``; an account's failures are also forgotten
  when it logs in successfully (only its owner can do that), an address's are not: an attacker's own
  account must not reset the counter of the address it sprays from.

The address is the one ``smsplatform.client_ip.client_ip`` resolves, never a forged X-Forwarded-For.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessFailureLog, AccessLog
from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef
from django.utils import timezone

from .client_ip import address_bucket, client_ip

# Old failures are deleted every this many failures (a cheap, bounded clean-up under a spray).
_CLEANUP_EVERY = 100
_FAILURE_LOG_RETENTION = timedelta(days=7)


def throttle_ip(request) -> str | None:
    """The client address as throttling sees it (``AXES_CLIENT_IP_CALLABLE``): an IPv6 address is reduced
    to its /64, since rotating addresses inside one's own /64 costs nothing."""
    return address_bucket(client_ip(request))


def throttle_username(request, credentials: dict | None) -> str | None:
    """The email a log-in attempt is for (``AXES_USERNAME_CALLABLE``): "Owner@Shop.fr " and
    "owner@shop.fr" are one account, and one counter."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        value = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def cool_off_for(excess: int) -> timedelta:
    """How long a lock lasts after the last failure, ``excess`` failures beyond the limit."""
    base = timedelta(minutes=settings.LOGIN_COOLOFF_BASE_MINUTES)
    ceiling = timedelta(hours=settings.LOGIN_COOLOFF_MAX_HOURS)
    return min(base * 2 ** min(max(excess, 0), 16), ceiling)


@dataclass(frozen=True)
class Lockout:
    scope: str  # "account" or "ip"
    failures: int
    cool_off: timedelta
    until: datetime


def _now(request) -> datetime:
    return getattr(request, "axes_attempt_time", None) or timezone.now()


def _failures(queryset) -> tuple[int, datetime | None]:
    row = queryset.aggregate(n=Count("id"), last=Max("attempt_time"))
    return row["n"], row["last"]


def _lock(scope: str, count: int, last: datetime | None, limit: int, now: datetime) -> Lockout | None:
    if count < limit or last is None:
        return None
    cool_off = cool_off_for(count - limit)
    until = last + cool_off
    return Lockout(scope, count, cool_off, until) if until > now else None


def lockouts(request, credentials: dict | None = None) -> list[Lockout]:
    """The locks that hold now against this attempt's account and address (none, one or both)."""
    now = _now(request)
    since = now - timedelta(hours=settings.LOGIN_THROTTLE_WINDOW_HOURS)
    username = get_client_username(request, credentials)
    ip = getattr(request, "axes_ip_address", None) or throttle_ip(request)
    found: list[Lockout] = []
    if username:
        successes = AccessLog.objects.filter(username=username)
        last_success = successes.aggregate(last=Max("attempt_time"))["last"]
        failures = AccessFailureLog.objects.filter(
            username=username, attempt_time__gte=max(since, last_success or since)
        )
        familiar = (
            ip is not None
            and successes.filter(
                ip_address=ip, attempt_time__gte=now - timedelta(days=settings.LOGIN_FAMILIAR_IP_DAYS)
            ).exists()
        )
        if familiar:
            failures = failures.filter(ip_address=ip)
        lock = _lock("account", *_failures(failures), get_failure_limit(request, credentials), now)
        if lock:
            found.append(lock)
    if ip:
        typos = AccessLog.objects.filter(
            username=OuterRef("username"), attempt_time__gt=OuterRef("attempt_time")
        )
        failures = AccessFailureLog.objects.filter(ip_address=ip, attempt_time__gte=since).filter(
            ~Exists(typos)
        )
        lock = _lock("ip", *_failures(failures), settings.LOGIN_IP_FAILURE_LIMIT, now)
        if lock:
            found.append(lock)
    return found


def current_lockout(request, credentials: dict | None = None) -> Lockout | None:
    """The lock that ends last, if any: what the lock-out page announces."""
    return max(lockouts(request, credentials), key=lambda lock: lock.until, default=None)


def cool_off(request=None) -> timedelta:
    """``AXES_COOLOFF_TIME``: the length of the lock that holds against this request, growing with the
    failures; the base cool-off when nothing is locked (or outside a request)."""
    lock = current_lockout(request) if request is not None else None
    return lock.cool_off if lock else cool_off_for(0)


class LoginThrottleHandler(AxesDatabaseHandler):
    """Axes' database handler with the rules above. Axes asks ``get_failures() >= AXES_FAILURE_LIMIT``:
    the limit itself is reported while a lock holds, zero otherwise."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        return get_failure_limit(request, credentials) if lockouts(request, credentials) else 0

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        failure = None
        # Recorded before Axes decides, so that the failure that reaches a limit locks at once; not when
        # Axes refused the attempt unchecked (a lock must not outlive the attacker's last real guess).
        if (
            request is not None
            and not request.axes_locked_out
            and not self.is_whitelisted(request, credentials)
        ):
            failure = AccessFailureLog.objects.create(
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
                user_agent=request.axes_user_agent,
                http_accept=request.axes_http_accept,
                path_info=request.axes_path_info,
                attempt_time=request.axes_attempt_time,
            )
        super().user_login_failed(sender, credentials, request, **kwargs)
        if failure is not None:
            if request.axes_locked_out:
                AccessFailureLog.objects.filter(pk=failure.pk).update(locked_out=True)
            if failure.pk % _CLEANUP_EVERY == 0:
                AccessFailureLog.objects.filter(
                    attempt_time__lt=timezone.now() - _FAILURE_LOG_RETENTION
                ).delete()
