"""A 100 MB file is refused with a clear message, by the API and by the wizard, and nothing is imported."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact, ImportJob

pytestmark = pytest.mark.django_db

ROW = "Mme;Camille;Martin;06 12 34 56 78;75011;Paris\r\n"


@pytest.fixture(scope="module")
def hundred_megabytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "clients.csv"
    block = ROW * 20_000
    with path.open("w", encoding="cp1252") as out:
        out.write("Civilité;Prénom;Nom;Portable;Code postal;Ville\r\n")
        while out.tell() < 100 * 1024 * 1024:
            out.write(block)
    return path


def test_api_refuses_a_100_mb_file_clearly(tenant_a, hundred_megabytes):
    with hundred_megabytes.open("rb") as handle:
        response = tenant_a.api().post(
            "/api/v1/imports",
            {
                "file": handle,
                "list_name": "Gros fichier",
                "consent_basis": "opt_in",
                "consent_source": "caisse",
            },
            format="multipart",
        )
    assert response.status_code in (400, 413)
    assert "MB" in str(response.json()) or "Mo" in str(response.json())
    assert not ImportJob.objects.filter(org=tenant_a.org, status__in=["queued", "running", "done"]).exists()
    assert not Contact.objects.filter(org=tenant_a.org).exists()


def test_wizard_refuses_a_100_mb_file_clearly(tenant_a, hundred_megabytes):
    client = tenant_a.client()
    with hundred_megabytes.open("rb") as handle:
        upload = SimpleUploadedFile("clients.csv", handle.read(), content_type="text/csv")
    response = client.post("/contacts/import/", {"file": upload})
    assert response.status_code in (200, 400, 413)
    page = response.content.decode()
    assert "50" in page and ("MB" in page or "Mo" in page)
    assert not Contact.objects.filter(org=tenant_a.org).exists()
