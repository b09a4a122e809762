import pytest
from rest_framework.test import APIClient

from smsplatform.models import ApiKey
from smsplatform.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def test_account_shows_only_the_keys_organisation(tenant_a, tenant_b):
    response = tenant_a.api().get("/api/v1/account")
    assert response.status_code == 200
    assert response.json() == {
        "name": "Fleurs de Lys",
        "country": "FR",
        "timezone": "Europe/Paris",
        "rule_pack": "FR_STRICT",
        "credits": {"balance": 100},
    }
    assert tenant_b.api().get("/api/v1/account").json()["name"] == "Boulangerie Martin"


def test_keys_are_stored_hashed_and_shown_once(tenant_a):
    created = api_key_create(org=tenant_a.org, actor=tenant_a.owner, name="caisse")
    stored = ApiKey.objects.get(pk=created.api_key.pk)
    assert created.raw_key not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64


@pytest.mark.parametrize(
    "header", ["Bearer sk_nothere_abc", "Bearer not-a-key", "Bearer ", "Token whatever", None]
)
def test_wrong_or_missing_key_is_401_with_a_clear_message(tenant_a, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/account")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_revoked_key_is_refused_at_once(tenant_a):
    created = api_key_create(org=tenant_a.org, actor=tenant_a.owner, name="temp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    assert client.get("/api/v1/account").status_code == 200
    api_key_revoke(org=tenant_a.org, actor=tenant_a.owner, api_key=created.api_key)
    assert client.get("/api/v1/account").status_code == 401


def test_last_used_time_is_recorded(tenant_a):
    created = api_key_create(org=tenant_a.org, actor=tenant_a.owner, name="temp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    client.get("/api/v1/account")
    created.api_key.refresh_from_db()
    assert created.api_key.last_used_at is not None


def test_rate_limit_per_key_answers_429(tenant_a, tenant_b, settings):
    settings.API_RATE_LIMIT = "3/min"
    client_a = tenant_a.api()
    codes = [client_a.get("/api/v1/account").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    limited = client_a.get("/api/v1/account")
    assert limited.json()["code"] == "rate_limited"
    # Another key is not affected by the first one's consumption.
    assert tenant_b.api().get("/api/v1/account").status_code == 200


def test_schema_and_docs_are_served_without_any_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/account" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs


def test_malformed_json_body_is_a_400_with_a_clear_message(tenant_a):
    response = tenant_a.api().post(
        "/api/v1/contacts", data='{"phone": "+33612345678",', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "JSON" in body["detail"]
    assert body["code"] == "parse_error"
