"""One path from a till export to a campaign: the totals before the start, the consent step's
explanations, the rejected rows split into rows to fix and rows left out, and the composer opened on the
import's list."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from compliance.services import suppression_add
from contacts import jobs, services
from contacts.models import Contact, ImportJob

from .conftest import run_import

# A till export: a formula typed as a first name, two landlines (one written +33), the same mobile twice
# in two spellings, a number that opted out, one already a contact, a blank line and a line without a
# number.
TILL = (
    "Nom;Prénom;Téléphone;Code postal\r\n"
    "Durand;Zoé;06 12 34 56 78;01000\r\n"
    'Martin;=HYPERLINK("http://x");+33 1 23 45 67 89;75011\r\n'
    "Petit;Jean;+33612345678;75011\r\n"
    "Leroy;Anne;0612345670;57000\r\n"
    "Roux;Paul;0612345671;\r\n"
    ";;;\r\n"
    "Blanc;Léa;;\r\n"
    "Fixe;Luc;0145678901;\r\n"
)
MAPPING = {"col_0": "last_name", "col_1": "first_name", "col_2": "phone", "col_3": "postal_code"}


@pytest.fixture
def client_a(tenant_a):
    return tenant_a.client()


@pytest.fixture
def till_org(org_a, user_a):
    """The organisation before the import: +33612345670 opted out, +33612345671 already a contact."""
    suppression_add(org=org_a, phone_e164="+33612345670", source="manual")
    services.contact_create(org=org_a, actor=user_a, phone="0612345671", first_name="Paul")
    return org_a


def wizard_to_consent(client) -> str:
    """Uploads the till export and maps its columns; returns the consent step's URL."""
    upload = SimpleUploadedFile("caisse.csv", TILL.encode("utf-8"))
    response = client.post("/contacts/import/", {"file": upload})
    assert response.status_code == 302, response.content
    response = client.post(response.url, MAPPING)
    assert response.status_code == 302 and "/preview/" in response.url
    return response.url.replace("/preview/", "/consent/")


# --- 1. the composer opened on the import's list ---------------------------------------------------------


def test_wizard_import_fills_a_list_and_the_composer_opens_on_it(
    client_a, org_a, tenant_b, django_capture_on_commit_callbacks
):
    consent_url = wizard_to_consent(client_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(
            consent_url, {"consent_basis": "soft_opt_in", "consent_source": "caisse", "attest": "on"}
        )
    job = ImportJob.objects.select_related("contact_list").get(org=org_a)
    assert job.status == "done" and job.created == 3
    # No list chosen nor named: the wizard's import fills a list named after the file.
    assert job.contact_list is not None and job.contact_list.name.startswith("Import caisse.csv")
    assert job.contact_list.memberships.count() == 3

    page = client_a.get(response.url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    link = f'href="/campaigns/new/?list={job.contact_list_id}"'
    assert link in page and "Rédiger une campagne pour ces contacts" in page

    foreign = services.contact_list_create(org=tenant_b.org, actor=None, name="Liste secrète de B")
    composer = client_a.get(f"/campaigns/new/?list={job.contact_list_id}&list={foreign.pk}&list=abc")
    assert composer.status_code == 200
    html = composer.content.decode()
    checked = re.findall(r'<input[^>]*name="list_ids"[^>]*>', html)
    assert [tag for tag in checked if "checked" in tag and f'value="{job.contact_list_id}"' in tag]
    assert not [tag for tag in checked if f'value="{foreign.pk}"' in tag]
    assert "Liste secrète de B" not in html
    assert composer.context["form"].initial["list_ids"] == [str(job.contact_list_id)]


def test_composer_ignores_a_list_of_another_organisation_alone(client_a, tenant_b):
    foreign = services.contact_list_create(org=tenant_b.org, actor=None, name="Liste secrète de B")
    response = client_a.get(f"/campaigns/new/?list={foreign.pk}")
    assert response.status_code == 200
    assert response.context["form"].initial["list_ids"] == []
    assert "Liste secrète de B" not in response.content.decode()


def test_api_import_without_a_list_creates_none(org_a, user_a):
    job = run_import(org_a, user_a, "api.csv", b"Portable\r\n0612345678\r\n")
    assert job.contact_list_id is None  # only the wizard names a list by default


# --- 2. the totals before the start ----------------------------------------------------------------------


def test_totals_of_the_whole_file_before_the_start(client_a, till_org):
    consent_url = wizard_to_consent(client_a)
    page = client_a.get(consent_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    totals_url = consent_url.replace("/consent/", "/totals/")
    assert f'hx-get="{totals_url}"' in page  # the page comes at once, the totals follow
    fragment = client_a.get(totals_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    figures = dict(re.findall(r'data-testid="totals-(\w+)">([\d,]+)<', fragment))
    # 7 non-blank rows: 3 valid numbers, 2 landlines and 1 row without a number, 1 duplicate.
    assert figures == {"rows": "7", "valid": "3", "invalid": "3", "duplicates": "1"}
    split = re.sub(r"\s+", " ", fragment.split('data-testid="totals-valid-split"')[1].split("</ul>")[0])
    assert "new contacts : <strong>1</strong>" in split
    assert "already in your contacts (updated, nothing they hold is erased) : <strong>1</strong>" in split
    assert "opted out of your SMS (left out) : <strong>1</strong>" in split
    assert "This number cannot receive SMS (landline or special number). : 2" in fragment
    assert "The phone number is missing. : 1" in fragment
    assert not ImportJob.objects.filter(org=till_org).exists()  # nothing started
    # Counted once: the consent page now shows them without waiting.
    again = client_a.get(consent_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="totals-invalid">3<' in again and "hx-get" not in again.split("import-totals")[1][:80]


def test_totals_service_matches_what_the_job_does(till_org, user_a):
    path, _size = jobs.import_file_store(org=till_org, fileobj=io.BytesIO(TILL.encode()), filename="c.csv")
    totals = jobs.import_totals(org=till_org, path=path, filename="c.csv", mapping=None)
    assert (totals.rows, totals.valid, totals.invalid, totals.duplicates) == (7, 3, 3, 1)
    assert (totals.new, totals.existing, totals.suppressed, totals.imported) == (1, 1, 1, 2)
    assert totals.invalid_by_reason == {"not_mobile": 2, "missing_phone": 1}
    job = run_import(till_org, user_a, "c.csv", TILL.encode())
    assert (job.created, job.updated, job.invalid, job.duplicates, job.suppressed) == (1, 1, 3, 1, 1)


def test_totals_of_another_session_draft_are_404(client_a, tenant_b):
    consent_url = wizard_to_consent(client_a)
    other = tenant_b.client()
    assert other.get(consent_url.replace("/consent/", "/totals/")).status_code == 404


# --- 3. the rejected rows: to fix apart from duplicates ---------------------------------------------------


def _download(client, job, part="", language="fr") -> list[list[str]]:
    url = f"/contacts/imports/{job.pk}/rejected.csv" + (f"?part={part}" if part else "")
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_rejected_rows_split_typed_and_readable_in_excel(client_a, till_org, user_a):
    job = run_import(till_org, user_a, "caisse.csv", TILL.encode())
    rows = _download(client_a, job)
    assert rows[0] == ["Nom", "Prénom", "Téléphone", "Code postal", "Motif", "Type"]
    assert sorted(r[-1] for r in rows[1:]) == ["doublon", "désinscrit", "invalide", "invalide", "invalide"]

    to_fix = _download(client_a, job, "invalid")
    assert {r[-1] for r in to_fix[1:]} == {"invalide"} and len(to_fix) == 4
    martin = next(r for r in to_fix if r[0] == "Martin")
    # A formula is still neutralised; a phone number opens in Excel as text, without an apostrophe.
    assert martin[1] == '\'=HYPERLINK("http://x")'
    assert martin[2] == '="+33 1 23 45 67 89"' and martin[3] == "75011"
    assert [r[2] for r in to_fix if r[0] == "Fixe"] == ['="0145678901"']
    assert martin[4] == "Ce numéro ne peut pas recevoir de SMS (fixe ou numéro spécial)."

    other = _download(client_a, job, "other")
    assert sorted(r[-1] for r in other[1:]) == ["doublon", "désinscrit"]
    petit = next(r for r in other if r[0] == "Petit")
    assert petit[2] == '="+33612345678"' and not any(cell.startswith("'+") for r in other for cell in r)

    english = _download(client_a, job, "other", language="en")
    assert english[0][-2:] == ["Reason", "Type"]
    assert sorted(r[-1] for r in english[1:]) == ["duplicate", "opted out"]
    assert client_a.get(f"/contacts/imports/{job.pk}/rejected.csv?part=nope").status_code == 404


def test_import_page_offers_the_two_downloads(client_a, till_org, user_a):
    job = run_import(till_org, user_a, "caisse.csv", TILL.encode())
    page = client_a.get(f"/contacts/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"/contacts/imports/{job.pk}/rejected.csv?part=invalid" in page
    assert f"/contacts/imports/{job.pk}/rejected.csv?part=other" in page
    assert "Télécharger les lignes à corriger (CSV)" in page


def test_rejected_file_imported_again_keeps_the_numbers(org_a, user_a):
    job = run_import(
        org_a, user_a, "a.csv", b"Portable;Code postal\r\n0145678901;01000\r\n0612345678;01000\r\n"
    )
    fixed = b"".join(jobs.rejected_rows_stream(jobs.rejected_rows_file(job))).replace(
        b'"=""0145678901"""', b'"=""0612345679"""'
    )
    again = run_import(org_a, user_a, "rejets.csv", fixed)
    assert again.created == 1
    assert Contact.objects.get(org=org_a, phone="+33612345679").postal_code == "01000"


# --- 4. the consent step explains each basis --------------------------------------------------------------


def test_consent_step_explains_each_basis_and_recommends_soft_opt_in(client_a):
    consent_url = wizard_to_consent(client_a)
    fr = client_a.get(consent_url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    soft = fr.split('data-testid="consent-basis-soft_opt_in"')[1].split("</div>")[0]
    assert "Recommandé pour un export de caisse" in soft
    assert "ticket" in soft  # the proof a shop keeps for its customers
    none = fr.split('data-testid="consent-basis-none"')[1].split("</div>")[0]
    assert "messages transactionnels" in none and "jamais de campagne marketing" in none
    opt_in = fr.split('data-testid="consent-basis-opt_in"')[1].split("</div>")[0]
    assert "case pré-cochée" in opt_in and "Recommandé" not in opt_in
    with translation.override("en"):
        en = client_a.get(consent_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Recommended for a till export" in en and "transactional messages only" in en
