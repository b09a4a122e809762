"""Fixtures of the campaign pages tests: the two organisations of tests/conftest.py, contacts created
through the contacts services, and campaigns created through the campaigns services."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns import services
from contacts.services import contact_create, contact_list_create

PARIS = ZoneInfo("Europe/Paris")
_phones = itertools.count(10_000)


@pytest.fixture(autouse=True)
def _ui_settings(settings):
    settings.SMS_GATEWAY = "loopback"
    settings.CELERY_TASK_ALWAYS_EAGER = False


def add_contacts(tenant, n: int, *, name: str = "Clients", consent: str = "opt_in", contact_list=None):
    """``n`` French mobile contacts in a list (created when not given); returns the list."""
    if contact_list is None:
        contact_list = contact_list_create(org=tenant.org, actor=tenant.owner, name=f"{name} {next(_phones)}")
    for _ in range(n):
        contact_create(
            org=tenant.org,
            actor=tenant.owner,
            phone=f"+3361{next(_phones):07d}",
            first_name="Zoé",
            consent_basis=consent,
            consent_source="manual" if consent != "unknown" else "",
            list_ids=[contact_list.pk],
        )
    return contact_list


def make_campaign(tenant, contact_list=None, **fields):
    data = {
        "name": "Soldes",
        "body": "Soldes -20% ce samedi chez Fleurs de Lys !",
        "list_ids": [contact_list.pk] if contact_list is not None else [],
    }
    data.update(fields)
    return services.campaign_create(org=tenant.org, actor=tenant.owner, **data)


def future_local(days: int = 10, weekday: int | None = None, hour: int = 10, minute: int = 0) -> datetime:
    """A wall time in Paris ``days`` ahead (moved forward to ``weekday`` when given), not a holiday."""
    from compliance.context import holiday_dates

    day = (timezone.now().astimezone(PARIS) + timedelta(days=days)).date()
    while (
        (weekday is not None and day.weekday() != weekday)
        or day in holiday_dates("FR", day.year)
        or (day + timedelta(days=1) in holiday_dates("FR", day.year))
    ):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def audience(tenant_a):
    return add_contacts(tenant_a, 3)
