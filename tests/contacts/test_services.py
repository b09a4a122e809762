"""Services and selectors: segments compiled to querysets, the audience of a campaign, consent rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts import selectors, services
from contacts.models import Contact


def _contact(org, phone, **kw):
    return services.contact_create(org=org, actor=None, phone=phone, **kw)


def _years_ago(years: int, days: int = 0) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=days)


def test_segment_filters(org_a):
    a = _contact(org_a, "0612345601", postal_code="67000", city="Strasbourg", gender="F", tags=["vip"],
                 birth_date=_years_ago(30), attributes={"carte": "Gold", "points": 120})  # fmt: skip
    b = _contact(org_a, "0612345602", postal_code="75011", city="Paris", gender="M",
                 birth_date=_years_ago(60),
                 attributes={"carte": "silver"})  # fmt: skip
    c = _contact(org_a, "0612345603")
    lst = services.contact_list_create(org=org_a, actor=None, name="L")
    services.contacts_add_to_list(org=org_a, actor=None, contact_list=lst, contact_ids=[b.pk, c.pk])

    def ids(filters):
        clean = services.segment_filters_clean(org=org_a, filters=filters)
        return set(selectors.segment_contacts(org_a, clean).values_list("id", flat=True))

    assert ids({"tags": ["VIP"]}) == {a.pk}
    assert ids({"lists": [lst.pk]}) == {b.pk, c.pk}
    assert ids({"postal_code_prefix": "67"}) == {a.pk}
    assert ids({"city": "paris"}) == {b.pk}
    assert ids({"gender": "M"}) == {b.pk}
    assert ids({"age_min": 25, "age_max": 35}) == {a.pk}
    assert ids({"age_min": 30}) == {a.pk, b.pk}
    assert ids({"age_max": 29}) == set()
    assert ids({"attributes": [{"key": "carte", "op": "equals", "value": "gold"}]}) == {a.pk}
    assert ids({"attributes": [{"key": "carte", "op": "contains", "value": "ILV"}]}) == {b.pk}
    assert ids({"attributes": [{"key": "points", "op": "equals", "value": "120"}]}) == {a.pk}
    assert ids({"created_since": timezone.localdate().isoformat()}) == {a.pk, b.pk, c.pk}
    assert ids({"created_since": (timezone.localdate() + timedelta(days=1)).isoformat()}) == set()
    assert ids({"lists": [lst.pk], "gender": "M"}) == {b.pk}


def test_segment_filters_are_validated(org_a, tenant_b):
    other = services.contact_list_create(org=tenant_b.org, actor=None, name="B")
    with pytest.raises(ValidationError):
        services.segment_filters_clean(org=org_a, filters={"lists": [other.pk]})
    with pytest.raises(ValidationError):
        services.segment_filters_clean(org=org_a, filters={"age_min": 50, "age_max": 20})
    with pytest.raises(ValidationError):
        services.segment_filters_clean(org=org_a, filters={"nope": 1})
    with pytest.raises(ValidationError):
        services.segment_filters_clean(
            org=org_a, filters={"attributes": [{"key": "a", "op": "regex", "value": "x"}]}
        )


def test_audience_contact_ids_is_a_union_scoped_to_the_org(org_a, tenant_b, django_assert_num_queries):
    a = _contact(org_a, "0612345601", city="Metz")
    b = _contact(org_a, "0612345602")
    c = _contact(org_a, "0612345603", city="Metz")
    _contact(org_a, "0612345604")
    services.optout_add(org=org_a, actor=None, phone=c.phone)
    lst = services.contact_list_create(org=org_a, actor=None, name="L")
    services.contacts_add_to_list(org=org_a, actor=None, contact_list=lst, contact_ids=[a.pk, b.pk])
    seg = services.segment_create(org=org_a, actor=None, name="Metz", filters={"city": "Metz"})
    other_list = services.contact_list_create(org=tenant_b.org, actor=None, name="B")
    _contact(tenant_b.org, "0612345609")
    with django_assert_num_queries(2):  # the segments, then the audience
        ids = list(
            selectors.audience_contact_ids(org_a, list_ids=[lst.pk, other_list.pk], segment_ids=[seg.pk])
        )
    assert ids == sorted([a.pk, b.pk, c.pk])
    assert list(selectors.audience_contact_ids(org_a, [lst.pk], [seg.pk], exclude_opted_out=True)) == sorted(
        [a.pk, b.pk]
    )
    assert list(selectors.audience_contact_ids(org_a)) == []
    assert list(selectors.audience_contact_ids(tenant_b.org, [lst.pk], [seg.pk])) == []


def test_import_never_weakens_consent_and_update_records_proof(org_a, user_a):
    contact = _contact(org_a, "0612345678", consent_basis="opt_in")
    assert services.stronger_basis("opt_in", "soft_opt_in") is False
    services.contact_update(org=org_a, actor=user_a, contact=contact, consent_basis="soft_opt_in")
    contact.refresh_from_db()
    assert contact.consent_basis == "soft_opt_in" and contact.consent_proofs.count() == 2


def test_postal_code_change_recomputes_calendar(org_a):
    contact = _contact(org_a, "0612345678", postal_code="75011")
    assert contact.calendar == "FR"
    services.contact_update(org=org_a, actor=None, contact=contact, postal_code="57000")
    assert Contact.objects.get(pk=contact.pk).calendar == "FR-57"


def test_sync_opted_out_flags(org_a):
    from compliance.services import suppression_add

    contact = _contact(org_a, "0612345678")
    suppression_add(org=org_a, phone_e164=contact.phone, source="inbound_keyword")
    assert services.contacts_sync_opted_out(org=org_a, phones=[contact.phone]) == 1
    assert Contact.objects.get(pk=contact.pk).opted_out is True
