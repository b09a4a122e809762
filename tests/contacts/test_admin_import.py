"""The operators' import in the Django admin (django-import-export, ContactResource): upload, preview,
confirm. Rows land in the organisation chosen on the first step, normalised like the wizard's, and an
opted-out number stays opted out."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from compliance.services import suppression_add
from contacts.models import Contact
from contacts.selectors import tag_names

pytestmark = pytest.mark.django_db

CSV = (
    "phone,first_name,last_name,postal_code,city,tags\n"
    "06 12 34 56 78,Hélène,Lefèvre,75011,Paris,vip\n"
    "0639 01 23 45,Zoé,Payet,97600,Mamoudzou,\n"
    "+33 6 99 88 77 66,Loïc,Martin,57000,Metz,\n"
)


def _csv_format_index() -> str:
    contact_admin = admin.site._registry[Contact]
    formats = contact_admin.get_import_formats()
    return str(next(i for i, f in enumerate(formats) if f().get_title() == "csv"))


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]+type=\"hidden\"[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def _upload(client: Client, org, content: str = CSV):
    return client.post(
        "/admin/contacts/contact/import/",
        {
            "org": org.pk,
            "format": _csv_format_index(),
            "import_file": SimpleUploadedFile("clients.csv", content.encode(), content_type="text/csv"),
        },
    )


def test_admin_import_previews_then_saves_into_the_chosen_organisation(tenant_a, tenant_b, operator_client):
    suppression_add(org=tenant_a.org, phone_e164="+33699887766", source="manual")

    preview = _upload(operator_client, tenant_a.org)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "process_import" in html
    assert Contact.objects.filter(org=tenant_a.org).count() == 0  # a preview writes nothing

    hidden = _hidden_fields(html)
    assert hidden["org"] == str(tenant_a.org.pk)
    confirmed = operator_client.post("/admin/contacts/contact/process_import/", hidden)
    assert confirmed.status_code == 302, confirmed.content.decode()[:3000]

    contacts = {c.phone: c for c in Contact.objects.filter(org=tenant_a.org)}
    assert set(contacts) == {"+33612345678", "+262639012345", "+33699887766"}
    assert contacts["+33612345678"].first_name == "Hélène"
    assert contacts["+33612345678"].region == "FR"
    assert contacts["+262639012345"].region == "YT"  # Mayotte written nationally
    assert contacts["+33699887766"].opted_out is True  # never re-subscribed by an import
    assert not contacts["+33612345678"].opted_out
    assert tag_names(contacts["+33612345678"]) == ["vip"]
    assert Contact.objects.filter(org=tenant_b.org).count() == 0


def test_admin_import_without_an_organisation_is_refused(operator_client):
    response = operator_client.post(
        "/admin/contacts/contact/import/",
        {
            "format": _csv_format_index(),
            "import_file": SimpleUploadedFile("clients.csv", CSV.encode(), content_type="text/csv"),
        },
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode() or "Ce champ est obligatoire" in (
        response.content.decode()
    )
    assert Contact.objects.count() == 0
