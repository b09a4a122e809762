"""API v1: contacts, lists, imports, opt-outs; another organisation's ids are 404; pinned query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.selectors import is_suppressed
from contacts import services
from contacts.models import Contact, ContactList, ImportJob

from .conftest import run_import


@pytest.fixture
def api_a(tenant_a):
    return tenant_a.api()


def make_contacts(org, user, n: int, start: int = 0, tags=("vip", "noel")):
    return [
        services.contact_create(
            org=org, actor=user, phone=f"06123456{i:02d}", first_name=f"P{i}", tags=list(tags)
        )
        for i in range(start, start + n)
    ]


def test_create_normalises_and_returns_api_fields(api_a, org_a):
    response = api_a.post(
        "/api/v1/contacts",
        {"phone": "06 12 34 56 78", "first_name": "Zoé", "tags": ["vip"],
         "attributes": {"Carte fidélité": "A12"},
         "consent": {"basis": "opt_in", "source": "web_form"}, "postal_code": "67000"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "phone", "first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city",
        "tags",
        "attributes", "consent", "opted_out", "created_at",
    }  # fmt: skip
    assert body["phone"] == "+33612345678"
    assert body["tags"] == ["vip"]
    assert body["attributes"] == {"carte_fidelite": "A12"}
    assert body["consent"]["basis"] == "opt_in" and body["consent"]["source"] == "web_form"
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.region, contact.calendar) == ("FR", "FR-6AE")
    assert contact.consent_proofs.count() == 1


def test_create_refuses_landline_and_duplicate(api_a):
    response = api_a.post("/api/v1/contacts", {"phone": "01 23 45 67 89"}, format="json")
    assert response.status_code == 400 and "phone" in response.json()
    assert api_a.post("/api/v1/contacts", {"phone": "0612345678"}, format="json").status_code == 201
    assert api_a.post("/api/v1/contacts", {"phone": "+33612345678"}, format="json").status_code == 400


def test_patch_and_delete_keep_the_opt_out(api_a, org_a, tenant_a):
    contact = services.contact_create(org=org_a, actor=tenant_a.owner, phone="0612345678", first_name="A")
    response = api_a.patch(f"/api/v1/contacts/{contact.pk}", {"city": "Metz", "tags": ["x"]}, format="json")
    assert (
        response.status_code == 200 and response.json()["city"] == "Metz" and response.json()["tags"] == ["x"]
    )
    assert api_a.post("/api/v1/optouts", {"phone": "0612345678"}, format="json").status_code == 201
    assert api_a.get(f"/api/v1/contacts/{contact.pk}").json()["opted_out"] is True
    assert api_a.delete(f"/api/v1/contacts/{contact.pk}").status_code == 204
    assert is_suppressed(org_a, "+33612345678")
    recreated = api_a.post("/api/v1/contacts", {"phone": "0612345678"}, format="json").json()
    assert recreated["opted_out"] is True


def test_list_filters(api_a, org_a, tenant_a):
    a, b, c = make_contacts(org_a, tenant_a.owner, 3, tags=())
    services.contacts_tag(org=org_a, actor=None, contact_ids=[a.pk], tags=["vip"])
    lst = services.contact_list_create(org=org_a, actor=None, name="L")
    services.contacts_add_to_list(org=org_a, actor=None, contact_list=lst, contact_ids=[b.pk])
    services.optout_add(org=org_a, actor=None, phone=c.phone)
    ids = lambda q: [r["id"] for r in api_a.get(f"/api/v1/contacts{q}").json()["results"]]  # noqa: E731
    assert ids("") == [c.pk, b.pk, a.pk]
    assert ids("?tag=vip") == [a.pk]
    assert ids(f"?list={lst.pk}") == [b.pk]
    assert ids("?opted_out=true") == [c.pk]
    assert ids("?opted_out=false") == [b.pk, a.pk]
    assert ids("?search=P1") == [b.pk]
    assert ids("?search=06 12 34 56 02") == [c.pk]
    assert ids("?search=%2B336123456") == [c.pk, b.pk, a.pk]


def test_contact_list_query_count_is_constant(api_a, org_a, tenant_a, django_assert_num_queries):
    make_contacts(org_a, tenant_a.owner, 3)
    api_a.get("/api/v1/contacts")  # warms the key's last_used_at
    # key lookup, page of contacts, tags of the page (one query whatever the page size)
    with django_assert_num_queries(3):
        response = api_a.get("/api/v1/contacts")
    assert len(response.json()["results"]) == 3
    make_contacts(org_a, tenant_a.owner, 20, start=10)
    with django_assert_num_queries(3):
        response = api_a.get("/api/v1/contacts")
    assert len(response.json()["results"]) == 23
    assert "count" not in response.json()


def test_pagination_without_count(api_a, org_a, tenant_a):
    make_contacts(org_a, tenant_a.owner, 5, tags=())
    body = api_a.get("/api/v1/contacts?page_size=2").json()
    assert len(body["results"]) == 2 and body["next"] and body["previous"] is None
    last = api_a.get("/api/v1/contacts?page_size=2&page=3").json()
    assert len(last["results"]) == 1 and last["next"] is None


def test_lists_and_adding_contacts_ignores_other_organisations(api_a, org_a, tenant_a, tenant_b):
    mine = make_contacts(org_a, tenant_a.owner, 2, tags=())
    theirs = services.contact_create(org=tenant_b.org, actor=None, phone="0612345699")
    response = api_a.post("/api/v1/lists", {"name": "VIP"}, format="json")
    assert response.status_code == 201
    list_id = response.json()["id"]
    response = api_a.post(
        f"/api/v1/lists/{list_id}/contacts",
        {"contact_ids": [mine[0].pk, mine[1].pk, theirs.pk]},
        format="json",
    )
    assert response.status_code == 200 and response.json()["added"] == 2
    assert ContactList.objects.get(pk=list_id).memberships.count() == 2
    assert api_a.post("/api/v1/lists", {"name": "VIP"}, format="json").status_code == 400


def test_import_api_end_to_end(api_a, org_a, django_capture_on_commit_callbacks):
    content = "Prénom;Portable\r\nZoé;0612345678\r\nX;0123456789\r\n".encode()
    upload = SimpleUploadedFile("clients.csv", content, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(
            "/api/v1/imports",
            {
                "file": upload,
                "consent_basis": "soft_opt_in",
                "consent_source": "caisse",
                "list_name": "Clients",
            },
            format="multipart",
        )
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"id", "status"}
    body = api_a.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert body["status"] == "done"
    assert (body["total_rows"], body["processed_rows"], body["created"], body["invalid"]) == (2, 2, 1, 1)
    assert body["errors_url"].endswith(f"/api/v1/imports/{body['id']}/errors")
    errors = api_a.get(f"/api/v1/imports/{body['id']}/errors")
    assert errors.status_code == 200
    text = b"".join(errors.streaming_content).decode("utf-8-sig")
    # The API keeps stable column names and codes for the type, whatever the language.
    assert text.splitlines()[0] == "Prénom;Portable;error;type"
    assert '"=""0123456789""";' in text and text.splitlines()[1].endswith(";invalid")


def test_import_api_requires_attestation_and_phone_column(api_a):
    upload = SimpleUploadedFile("c.csv", b"Nom;Ville\r\nA;B\r\n")
    response = api_a.post(
        "/api/v1/imports", {"file": upload, "consent_basis": "opt_in", "consent_source": "x"}
    )
    assert response.status_code == 400 and "mapping" in response.json()
    upload = SimpleUploadedFile("c.csv", b"Portable\r\n0612345678\r\n")
    response = api_a.post("/api/v1/imports", {"file": upload})
    assert response.status_code == 400 and "consent_basis" in response.json()
    upload = SimpleUploadedFile("c.csv", bytes(range(256)) * 10)
    response = api_a.post(
        "/api/v1/imports", {"file": upload, "consent_basis": "opt_in", "consent_source": "x"}
    )
    assert response.status_code == 400 and "file" in response.json()


def test_import_api_refuses_too_large(api_a, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    upload = SimpleUploadedFile("c.csv", b"Portable\r\n" + b"0612345678\r\n" * 20)
    response = api_a.post(
        "/api/v1/imports", {"file": upload, "consent_basis": "opt_in", "consent_source": "x"}
    )
    assert response.status_code == 400
    message = response.json()["file"][0]
    assert "MB" in message or "Mo" in message


def test_optouts_api(api_a, org_a):
    assert api_a.post("/api/v1/optouts", {"phone": "01 23 45 67 89"}, format="json").status_code == 400
    response = api_a.post("/api/v1/optouts", {"phone": "06 12 34 56 78"}, format="json")
    assert response.status_code == 201
    results = api_a.get("/api/v1/optouts").json()["results"]
    assert (
        results[0]["phone"] == "+33612345678" and results[0]["source"] == "api" and results[0]["created_at"]
    )


def test_other_organisation_is_404_everywhere(api_a, tenant_b):
    org_b = tenant_b.org
    contact = services.contact_create(org=org_b, actor=None, phone="0612345678")
    lst = services.contact_list_create(org=org_b, actor=None, name="B")
    job = run_import(org_b, tenant_b.owner, "b.csv", b"Portable\r\n0612345679\r\nbad\r\n")
    services.optout_add(org=org_b, actor=None, phone="0612345670")
    assert api_a.get(f"/api/v1/contacts/{contact.pk}").status_code == 404
    assert api_a.patch(f"/api/v1/contacts/{contact.pk}", {"city": "x"}, format="json").status_code == 404
    assert api_a.delete(f"/api/v1/contacts/{contact.pk}").status_code == 404
    assert api_a.get(f"/api/v1/lists/{lst.pk}").status_code == 404
    assert (
        api_a.post(
            f"/api/v1/lists/{lst.pk}/contacts", {"contact_ids": [contact.pk]}, format="json"
        ).status_code
        == 404
    )
    assert api_a.get(f"/api/v1/imports/{job.pk}").status_code == 404
    assert api_a.get(f"/api/v1/imports/{job.pk}/errors").status_code == 404
    assert api_a.get("/api/v1/contacts").json()["results"] == []
    assert api_a.get("/api/v1/lists").json()["results"] == []
    assert api_a.get("/api/v1/imports").json()["results"] == []
    assert api_a.get("/api/v1/optouts").json()["results"] == []
    assert api_a.get("/api/v1/contacts/not-a-number").status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists() and ImportJob.objects.filter(pk=job.pk).exists()


def test_analyst_key_reads_only(tenant_a):
    api = tenant_a.api("analyst")
    assert api.get("/api/v1/contacts").status_code == 200
    assert api.post("/api/v1/contacts", {"phone": "0612345678"}, format="json").status_code == 403
