"""Hole 10: each input that made the API answer 500, kept as an example. A well-formed but odd request is a
clear 4xx (or an empty page), never a server error."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection
from django.db.models.signals import post_save

from contacts import services as contact_services
from contacts.models import Contact, ContactList, ImportJob
from smsplatform.models import AuditEntry

# An offset beyond PostgreSQL's bigint.
HUGE_PAGE = 10**22


@pytest.fixture
def api(tenant_a):
    client = tenant_a.api()
    # Answer as production does (the 500 page) instead of re-raising in the test.
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(
    "path", ["/api/v1/contacts", "/api/v1/campaigns", "/api/v1/messages", "/api/v1/lists"]
)
def test_a_page_past_any_possible_offset_is_an_empty_page(api, path):
    response = api.get(f"{path}?page={HUGE_PAGE}")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [] and response.json()["next"] is None


@pytest.mark.parametrize("param", ["search", "tag"])
def test_a_null_character_in_a_contact_filter_is_a_400(api, param):
    response = api.get(f"/api/v1/contacts?{param}=ab%00cd")
    assert response.status_code == 400, response.content
    assert param in response.json()


@pytest.mark.parametrize(
    "value",
    [
        '"ab\\u0000cd"',  # PostgreSQL's jsonb refuses \u0000
        '"\\ud800"',  # a lone surrogate cannot be encoded in UTF-8
        "1e400",  # Python reads it as infinity, which JSON (and jsonb) has not
        "-1e400",
    ],
)
def test_an_attribute_value_postgresql_cannot_store_is_a_400(api, tenant_a, value):
    body = '{"phone": "0612345678", "attributes": {"loyalty": ' + value + "}}"
    response = api.post("/api/v1/contacts", data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "attributes" in response.json()
    assert not Contact.objects.filter(org=tenant_a.org).exists()

    contact = contact_services.contact_create(org=tenant_a.org, actor=None, phone="0612345679")
    response = api.patch(
        f"/api/v1/contacts/{contact.pk}",
        data='{"attributes": {"loyalty": ' + value + "}}",
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "attributes" in response.json()


@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/lists", "/api/v1/compliance/check"])
def test_json_nested_deeper_than_the_decoder_goes_is_a_400(api, path):
    body = "[" * 5000 + "]" * 5000
    response = api.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_an_import_mapping_nested_too_deeply_is_a_400(api):
    upload = io.BytesIO(b"phone\n0612345678\n")
    upload.name = "contacts.csv"
    response = api.post(
        "/api/v1/imports",
        {
            "file": upload,
            "consent_basis": "opt_in",
            "consent_source": "shop counter",
            "mapping": "[" * 5000 + "]" * 5000,
        },
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert "mapping" in response.json()


# 9999-12-31 22:30 UTC is past 23:00 in Paris, a Friday night: the next allowed instant is in year 10000.
# Reunion (UTC+4) and the United States (before 1883, local mean time) break the same way at the other end.
@pytest.mark.parametrize(
    "to,at",
    [
        ("0612345678", "9999-12-31T21:30:00Z"),
        ("0612345678", "9999-12-31T22:30:00Z"),
        ("+262692123456", "9999-12-31T20:30:00Z"),
        ("+16505550100", "0001-01-01T00:30:00Z"),
    ],
)
def test_a_compliance_check_at_the_edge_of_the_calendar_is_a_400(api, to, at):
    response = api.post("/api/v1/compliance/check", {"to": to, "at": at}, format="json")
    assert response.status_code == 400, response.content
    assert "at" in response.json()


def test_a_campaign_at_the_edge_of_the_calendar_is_a_400(api, tenant_a):
    contact_list = contact_services.contact_list_create(org=tenant_a.org, actor=None, name="Salon")
    contact = contact_services.contact_create(
        org=tenant_a.org, actor=None, phone="0612345678", consent_basis="opt_in"
    )
    contact_services.contacts_add_to_list(
        org=tenant_a.org, actor=None, contact_list=contact_list, contact_ids=[contact.pk]
    )
    campaign = api.post(
        "/api/v1/campaigns", {"name": "Soldes", "body": "Hello", "list_ids": [contact_list.pk]}, format="json"
    ).json()
    for at in ("9999-12-31T22:30:00Z", "0001-01-01T00:30:00Z"):
        response = api.post(f"/api/v1/campaigns/{campaign['id']}/estimate", {"at": at}, format="json")
        assert response.status_code == 400, response.content
        assert "at" in response.json()
        response = api.patch(f"/api/v1/campaigns/{campaign['id']}", {"scheduled_at": at}, format="json")
        assert response.status_code == 400, response.content
        assert "scheduled_at" in response.json()
    response = api.post(
        "/api/v1/campaigns",
        {"name": "Far", "body": "Hello", "scheduled_at": "9999-12-31T22:30:00Z"},
        format="json",
    )
    assert response.status_code == 400, response.content


def test_dates_of_this_century_are_still_accepted(api):
    response = api.post(
        "/api/v1/compliance/check", {"to": "0612345678", "at": "2031-03-04T10:00:00+01:00"}, format="json"
    )
    assert response.status_code == 200, response.content


# --- races: a row the request relies on is deleted by another request before it commits ------------------


def _in_another_connection(work) -> None:
    """Runs ``work`` in a thread of its own, hence on its own database connection, committed at once: a
    concurrent request."""

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


@pytest.fixture
def on_save():
    """``on_save(model, callback)``: calls ``callback(instance)`` on each save of ``model`` during the test,
    i.e. inside the transaction of the request being tested, before it commits."""
    connected = []

    def connect(model, callback):
        def receiver(sender, instance, **kwargs):
            callback(instance)

        post_save.connect(receiver, sender=model, weak=False)
        connected.append((receiver, model))

    yield connect
    for receiver, model in connected:
        post_save.disconnect(receiver, sender=model)


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_list_is_deleted_meanwhile_is_a_409(api, tenant_a, on_save):
    contact_list = contact_services.contact_list_create(org=tenant_a.org, actor=None, name="Salon")
    on_save(
        ImportJob, lambda job: _in_another_connection(ContactList.objects.filter(pk=contact_list.pk).delete)
    )
    upload = io.BytesIO(b"phone\n0612345678\n")
    upload.name = "contacts.csv"
    response = api.post(
        "/api/v1/imports",
        {
            "file": upload,
            "list": contact_list.pk,
            "consent_basis": "opt_in",
            "consent_source": "shop counter",
        },
        format="multipart",
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "concurrent_change"
    assert not ImportJob.objects.filter(org=tenant_a.org).exists()


@pytest.mark.django_db(transaction=True)
def test_adding_a_contact_deleted_meanwhile_to_a_list_is_a_409(api, tenant_a, on_save):
    contact_list = contact_services.contact_list_create(org=tenant_a.org, actor=None, name="Salon")
    contact = contact_services.contact_create(org=tenant_a.org, actor=None, phone="0612345678")

    def delete_the_contact(entry):
        if entry.action == "contact_list.contacts_added":
            _in_another_connection(Contact.objects.filter(pk=contact.pk).delete)

    on_save(AuditEntry, delete_the_contact)
    response = api.post(
        f"/api/v1/lists/{contact_list.pk}/contacts", {"contact_ids": [contact.pk]}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "concurrent_change"
    assert not contact_list.memberships.exists()
