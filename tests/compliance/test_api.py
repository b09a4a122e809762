import pytest

from compliance.models import SuppressionSource
from compliance.services import sending_policy_set, suppression_add
from smsplatform.models import Role

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/compliance/check"
PREVIEW = "/api/v1/messages/preview"


def test_check_defer_in_french_by_default(tenant_a):
    response = tenant_a.api().post(
        CHECK, {"to": "+262692601234", "at": "2026-06-15T18:30:00Z"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["decision"] == "defer"
    assert data["region"] == "RE" and data["timezone"] == "Indian/Reunion"
    assert data["rule_pack"] == "FR_STRICT"
    assert data["local_time"] == "2026-06-15T22:30:00+04:00"
    assert data["next_allowed_at"].startswith("2026-06-16T04:00:00")
    assert data["reasons"][0]["code"] == "outside_window"
    assert data["reasons"][0]["message"].startswith("22:30 à La Réunion (UTC+4)")


def test_check_in_english(tenant_a):
    response = tenant_a.api().post(
        CHECK, {"to": "+262692601234", "at": "2026-06-15T18:30:00Z"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json()["reasons"][0]["message"].startswith("22:30 in Réunion (UTC+4)")


def test_check_national_number_uses_org_country_and_postal_code(tenant_a):
    response = tenant_a.api().post(
        CHECK,
        {"to": "06 12 34 56 78", "at": "2026-12-26T10:00:00+01:00", "postal_code": "57000"},
        format="json",
    )
    data = response.json()
    assert data["to"] == "+33612345678" and data["calendar"] == "FR-57"
    assert data["decision"] == "defer" and data["reasons"][0]["code"] == "public_holiday"


def test_check_allow_and_transactional(tenant_a):
    api = tenant_a.api()
    assert (
        api.post(CHECK, {"to": "+590690001234", "at": "2026-06-15T18:00:00Z"}, format="json").json()[
            "decision"
        ]
        == "allow"
    )
    night = {"to": "+33612345678", "at": "2026-06-15T23:00:00Z", "category": "transactional"}
    data = api.post(CHECK, night, format="json").json()
    assert data["decision"] == "allow" and data["next_allowed_at"] is None and data["reasons"] == []


def test_check_honours_suppression_and_org_policy(tenant_a):
    suppression_add(org=tenant_a.org, phone_e164="+33612345678", source=SuppressionSource.MANUAL)
    api = tenant_a.api()
    data = api.post(CHECK, {"to": "+33612345678", "category": "transactional"}, format="json").json()
    assert data["decision"] == "block" and data["reasons"][0]["code"] == "suppressed"
    sending_policy_set(org=tenant_a.org, restrictions={"closed_weekdays": ["mon"]})
    data = api.post(CHECK, {"to": "+33699999999", "at": "2026-06-15T10:00:00Z"}, format="json").json()
    assert data["reasons"][0]["code"] == "closed_day"


def test_check_suppression_of_other_org_does_not_leak(tenant_a, tenant_b):
    suppression_add(org=tenant_b.org, phone_e164="+33612345678", source=SuppressionSource.MANUAL)
    data = (
        tenant_a.api().post(CHECK, {"to": "+33612345678", "at": "2026-06-15T10:00:00Z"}, format="json").json()
    )
    assert data["decision"] == "allow"


@pytest.mark.parametrize("bad", ["hello", "0012", "+3361", ""])
def test_check_bad_number_is_400(tenant_a, bad):
    response = tenant_a.api().post(CHECK, {"to": bad}, format="json")
    assert response.status_code == 400
    assert "to" in response.json()


def test_check_bad_category_is_400(tenant_a):
    response = tenant_a.api().post(CHECK, {"to": "+33612345678", "category": "spam"}, format="json")
    assert response.status_code == 400 and "category" in response.json()


def test_check_needs_auth():
    from rest_framework.test import APIClient

    assert APIClient().post(CHECK, {"to": "+33612345678"}, format="json").status_code == 401


def test_analyst_may_check_and_preview(tenant_a):
    api = tenant_a.api(Role.ANALYST)
    assert api.post(CHECK, {"to": "+33612345678"}, format="json").status_code == 200
    assert api.post(PREVIEW, {"body": "Hello"}, format="json").status_code == 200


def test_preview_appends_mention_and_counts_it(tenant_a):
    response = tenant_a.api().post(PREVIEW, {"body": "a" * 150}, format="json")
    data = response.json()
    assert response.status_code == 200, data
    assert data["body"] == "a" * 150 + " " + tenant_a.org.stop_mention
    assert data["stop_mention"] is False and data["stop_mention_appended"] is True
    assert data["encoding"] == "GSM-7" and data["segments"] == 2


def test_preview_unicode_and_smart(tenant_a):
    api = tenant_a.api()
    body = "Fête d’été… STOP au 36111"
    data = api.post(PREVIEW, {"body": body}, format="json").json()
    assert data["encoding"] == "UCS-2"
    assert data["non_gsm_characters"] == ["ê", "’", "…"]
    assert data["stop_mention"] is True and data["body"] == body
    assert {c["char"]: c["replacement"] for c in data["culprits"]} == {"ê": "e", "’": "'", "…": "..."}
    smart = api.post(PREVIEW, {"body": body, "smart_encoding": True}, format="json").json()
    assert smart["body"] == "Fête d'été... STOP au 36111"
    assert smart["non_gsm_characters"] == ["ê"]


def test_preview_sender_check(tenant_a):
    data = (
        tenant_a.api().post(PREVIEW, {"body": "Hi STOP au 36111", "sender_id": "INFO"}, format="json").json()
    )
    assert data["sender"]["valid"] is False
    assert data["sender"]["reasons"][0]["code"] == "generic_word"
    ok = tenant_a.api().post(PREVIEW, {"body": "Hi STOP au 36111", "sender_id": "LILA"}, format="json").json()
    assert ok["sender"]["valid"] is True


def test_preview_transactional_is_left_alone(tenant_a):
    data = (
        tenant_a.api().post(PREVIEW, {"body": "Code 1234", "category": "transactional"}, format="json").json()
    )
    assert data["body"] == "Code 1234" and data["stop_mention_appended"] is False


def test_preview_requires_body(tenant_a):
    assert tenant_a.api().post(PREVIEW, {}, format="json").status_code == 400
