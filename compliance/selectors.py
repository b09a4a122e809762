"""Reads of the compliance module; ``org`` first, one query per batch."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import OrgSendingPolicy, Suppression, phone_hash


def suppressed_numbers(org, phones: Iterable[str]) -> set[str]:
    """The numbers of ``phones`` (E.164) that are suppressed for ``org``, in ONE query."""
    by_hash: dict[str, list[str]] = {}
    for phone in phones:
        if phone:
            by_hash.setdefault(phone_hash(phone), []).append(phone)
    if not by_hash:
        return set()
    found = Suppression.objects.filter(org=org, phone_hash__in=list(by_hash)).values_list(
        "phone_hash", flat=True
    )
    return {phone for digest in found for phone in by_hash[digest]}


def is_suppressed(org, phone: str) -> bool:
    return Suppression.objects.filter(org=org, phone_hash=phone_hash(phone)).exists()


def suppression_list(org) -> QuerySet[Suppression]:
    """The organisation's suppressions, newest first (the opt-out list)."""
    return Suppression.objects.filter(org=org).order_by("-created_at", "-id")


def org_restrictions(org) -> dict:
    """The organisation's stored restrictions (empty when it has none)."""
    row = OrgSendingPolicy.objects.filter(org=org).values_list("restrictions", flat=True).first()
    return row or {}


def contact_calendars(org) -> list[tuple[str, str]]:
    """Distinct (region, calendar) of the organisation's contacts, in ONE query.

    Falls back to mainland France (and the organisation's country) while contacts do not store their
    calendar, so that the "Sending rules" page always has something to show.
    """
    from django.apps import apps

    found: list[tuple[str, str]] = []
    try:
        contact = apps.get_model("contacts", "Contact")
        fields = {f.name for f in contact._meta.get_fields()}
        if {"region", "calendar", "org"} <= fields:
            rows = (
                contact.objects.filter(org=org)
                .exclude(calendar="")
                .values_list("region", "calendar")
                .distinct()
            )
            found = sorted(set(rows))
    except LookupError:
        pass
    if not found:
        country = (getattr(org, "country", "") or "FR").upper()
        found = [("FR", "FR")] if country == "FR" else [("FR", "FR"), (country, country)]
    return found
