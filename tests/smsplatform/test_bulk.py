"""COPY-based bulk writes (smsplatform/bulk.py): values arrive exactly as given, whatever they contain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from campaigns.models import Message
from contacts.models import Contact
from smsplatform import bulk

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="COPY and ANALYZE are PostgreSQL's"
)


def test_copy_text_escapes_what_the_text_format_reserves():
    assert bulk.copy_text(None) == "\\N"
    assert bulk.copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert bulk.copy_text(True) == "t" and bulk.copy_text(False) == "f"
    assert bulk.copy_text(0) == "0"
    # JSON writes the tab as backslash-t; COPY then doubles that backslash.
    assert bulk.copy_text({"k": "é\t"}) == '{"k": "é\\\\t"}'
    assert bulk.copy_text(datetime(2026, 6, 15, 8, 0, tzinfo=UTC)) == "2026-06-15T08:00:00+00:00"


@needs_postgres
def test_copy_rows_round_trips_awkward_values(tenant_a):
    awkward = ["Ligne 1\nLigne 2", "tab\there", "back\\slash \\N", "", "émoji 🌹 ; \"quotes\" 'x'"]
    bulk.copy_rows(
        Contact._meta.db_table,
        ["phone", "first_name", "attributes", "birth_date"],
        [(f"+3361000000{i}", text, {"note": text}, None) for i, text in enumerate(awkward)],
        constants={
            "org_id": tenant_a.org.pk,
            "last_name": "",
            "email": "",
            "gender": "",
            "postal_code": "",
            "city": "",
            "consent_basis": "opt_in",
            "consent_source": "manual",
            "opted_out": False,
            "region": "FR",
            "timezone": "Europe/Paris",
            "calendar": "FR",
            "created_at": datetime(2026, 6, 15, 8, 0, tzinfo=UTC),
            "updated_at": datetime(2026, 6, 15, 8, 0, tzinfo=UTC),
        },
    )
    rows = list(Contact.objects.filter(org=tenant_a.org).order_by("phone").values_list(
        "first_name", "attributes", "birth_date", "opted_out"
    ))  # fmt: skip
    assert rows == [(text, {"note": text}, None, False) for text in awkward]


@needs_postgres
def test_copy_rows_skips_conflicts_only_when_asked(tenant_a):
    from django.db import IntegrityError, transaction

    from contacts.services import contact_create

    existing = contact_create(org=tenant_a.org, actor=tenant_a.owner, phone="+33612345678", first_name="Ana")
    fresh = Contact(org=tenant_a.org, phone="+33612345679", first_name="Bea", region="FR")
    twin = Contact(org=tenant_a.org, phone=existing.phone, first_name="Not Ana", region="FR")
    bulk.bulk_insert(Contact, [fresh, twin], skip_conflicts=True)
    assert dict(Contact.objects.filter(org=tenant_a.org).values_list("phone", "first_name")) == {
        "+33612345678": "Ana",
        "+33612345679": "Bea",
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.bulk_insert(Contact, [Contact(org=tenant_a.org, phone=existing.phone, region="FR")])


@needs_postgres
def test_statistics_are_refreshed_only_after_a_write_that_matters(monkeypatch):
    table = Message._meta.db_table
    assert bulk.analyze_if_grown(table, bulk.ANALYZE_MIN_ROWS - 1) is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        (estimated,) = cursor.fetchone()
    # A table never analysed (reltuples -1) or empty: any large write changes it by more than 10%.
    assert estimated <= 0
    assert bulk.analyze_if_grown(table, bulk.ANALYZE_MIN_ROWS) is True
    # Pretend the table holds 10 million rows: 10,000 more is 0.1%, not worth an ANALYZE.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_class SET reltuples = 1e7 WHERE oid = %s::regclass", [table])
    assert bulk.analyze_if_grown(table, bulk.ANALYZE_MIN_ROWS) is False
    assert bulk.analyze_if_grown(table, 1_000_000) is True
