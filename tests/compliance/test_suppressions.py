import pytest
from django.core.exceptions import ValidationError

from compliance.models import Suppression, SuppressionSource, phone_hash
from compliance.selectors import is_suppressed, suppressed_numbers, suppression_list
from compliance.services import (
    sending_policy_set,
    suppression_add,
    suppression_forget_numbers,
    suppression_lift,
)
from smsplatform.models import AuditEntry

pytestmark = pytest.mark.django_db

PHONE = "+33612345678"


def test_hash_is_keyed_and_stable(settings):
    digest = phone_hash(PHONE)
    assert len(digest) == 64 and digest == phone_hash(PHONE)
    import hashlib

    assert digest != hashlib.sha256(PHONE.encode()).hexdigest()
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert phone_hash(PHONE) != digest


def test_add_is_idempotent_and_audited(tenant_a):
    org = tenant_a.org
    first = suppression_add(org=org, phone_e164=PHONE, source=SuppressionSource.INBOUND_KEYWORD, proof="STOP")
    second = suppression_add(org=org, phone_e164=PHONE, source=SuppressionSource.MANUAL, actor=tenant_a.owner)
    assert first.pk == second.pk
    assert second.source == SuppressionSource.INBOUND_KEYWORD and second.proof == "STOP"
    assert Suppression.objects.filter(org=org).count() == 1
    assert AuditEntry.objects.filter(org=org, action="compliance.suppression_add").count() == 1


def test_suppression_is_per_organisation(tenant_a, tenant_b):
    suppression_add(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.API)
    assert is_suppressed(tenant_a.org, PHONE)
    assert not is_suppressed(tenant_b.org, PHONE)


def test_suppressed_numbers_one_query(tenant_a, tenant_b, django_assert_num_queries):
    for phone in ("+33611111111", "+33622222222"):
        suppression_add(org=tenant_a.org, phone_e164=phone, source=SuppressionSource.IMPORT)
    suppression_add(org=tenant_b.org, phone_e164="+33633333333", source=SuppressionSource.IMPORT)
    batch = ["+33611111111", "+33622222222", "+33633333333", "+33644444444"] * 50
    with django_assert_num_queries(1):
        found = suppressed_numbers(tenant_a.org, batch)
    assert found == {"+33611111111", "+33622222222"}
    with django_assert_num_queries(0):
        assert suppressed_numbers(tenant_a.org, []) == set()


def test_erasure_keeps_the_suppression(tenant_a):
    suppression_add(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.WEB_FORM)
    assert suppression_forget_numbers(org=tenant_a.org, phones=[PHONE]) == 1
    row = Suppression.objects.get(org=tenant_a.org)
    assert row.phone_e164 == "" and row.phone_hash == phone_hash(PHONE)
    assert is_suppressed(tenant_a.org, PHONE)  # a re-import cannot re-subscribe
    again = suppression_add(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.IMPORT)
    assert again.pk == row.pk and again.source == SuppressionSource.WEB_FORM


def test_lift_needs_an_opt_in_source(tenant_a):
    suppression_add(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.INBOUND_KEYWORD)
    with pytest.raises(ValidationError):
        suppression_lift(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.IMPORT)
    with pytest.raises(ValidationError):
        suppression_lift(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.WEB_FORM)  # no proof
    assert is_suppressed(tenant_a.org, PHONE)
    assert suppression_lift(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.INBOUND_KEYWORD)
    assert not is_suppressed(tenant_a.org, PHONE)
    assert AuditEntry.objects.filter(org=tenant_a.org, action="compliance.suppression_lift").count() == 1
    assert not suppression_lift(org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.INBOUND_KEYWORD)


def test_bad_input_is_refused(tenant_a):
    with pytest.raises(ValidationError):
        suppression_add(org=tenant_a.org, phone_e164="0612345678", source=SuppressionSource.MANUAL)
    with pytest.raises(ValidationError):
        suppression_add(org=tenant_a.org, phone_e164=PHONE, source="carrier_pigeon")


def test_list_newest_first(tenant_a):
    suppression_add(org=tenant_a.org, phone_e164="+33611111111", source=SuppressionSource.MANUAL)
    suppression_add(org=tenant_a.org, phone_e164="+33622222222", source=SuppressionSource.MANUAL)
    assert [s.phone_e164 for s in suppression_list(tenant_a.org)] == ["+33622222222", "+33611111111"]


def test_sending_policy_set_validates_against_pack(tenant_a):
    obj = sending_policy_set(org=tenant_a.org, restrictions={"closed_weekdays": ["mon"], "max_per_7d": 2})
    assert obj.restrictions == {"closed_weekdays": ["mon"], "max_per_7d": 2}
    with pytest.raises(ValidationError):
        sending_policy_set(org=tenant_a.org, restrictions={"windows": {"mon": "07:00-20:00"}})
    obj.refresh_from_db()
    assert obj.restrictions == {"closed_weekdays": ["mon"], "max_per_7d": 2}
