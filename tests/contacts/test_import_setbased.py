"""The fast import path (PostgreSQL: set-based writes from a staging table, rows cleaned by forked parse
workers) keeps every behaviour of the portable path. On SQLite these tests run the portable path, so
both paths are held to the same expectations."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from compliance.services import suppression_add
from contacts import jobs, services
from contacts.jobs import parallel
from contacts.models import ConsentProof, Contact, ContactList, ContactTag

from .conftest import run_import

HEADER = "Civilité;Prénom;Nom;Portable;Code postal;Ville;Date de naissance;Tags;Fidélité\r\n"


def rejected_errors(job) -> list[tuple[str, str]]:
    raw = b"".join(jobs.rejected_rows_stream(jobs.rejected_rows_file(job), machine=True)).decode("utf-8-sig")
    return [(r["Portable"], r["error"]) for r in csv.DictReader(io.StringIO(raw), delimiter=";")]


@pytest.fixture(params=[0, 2], ids=["in-process", "parse-workers"])
def processes(request, settings):
    settings.IMPORT_PARSE_PROCESSES = request.param
    settings.IMPORT_CHUNK_ROWS = 3  # several chunks, so that the workers run and chunks see each other
    return request.param


def test_merge_tags_attributes_consent_and_cross_chunk_duplicates(org_a, user_a, processes):
    existing = services.contact_create(
        org=org_a,
        actor=user_a,
        phone="0612345678",
        first_name="Zoé",
        last_name="Durand",
        postal_code="75011",
        birth_date=date(1980, 1, 2),
        tags=["vip"],
        consent_basis="soft_opt_in",
    )
    Contact.objects.filter(pk=existing.pk).update(attributes={"carte": "A1", "ville_natale": "Metz"})
    suppression_add(org=org_a, phone_e164="+33612345674", source="manual")
    rows = [
        "Mme;;;06 12 34 56 78;;;;fidèle;123",  # existing: empty cells, a tag and an attribute
        "M.;Jean;Martin;0612345679;57000;Metz;17/05/1985;noël, Fidèle;",
        "M.;Fixe;;01 23 45 67 89;;;;;",  # landline
        "M.;Paul;;0612345680;;;;;",
        "M.;Jean bis;;+33612345679;;;;;",  # duplicate of row 2, in a later chunk
        "M.;Stop;;0612345674;;;;;",  # suppressed
        "M.;Anne;;0612345681;;;pas une date;;9",
    ]
    content = (HEADER + "\r\n".join(rows) + "\r\n").encode("cp1252")
    job = run_import(org_a, user_a, "fidelite.csv", content, keep=True, list_name="Magasin")
    assert job.status == "done", job.error_message
    assert (job.total_rows, job.processed_rows) == (7, 7)
    assert (job.created, job.updated, job.invalid, job.duplicates, job.suppressed) == (3, 1, 1, 1, 1)
    assert job.invalid_by_reason == {"not_mobile": 1}

    zoe = Contact.objects.get(pk=existing.pk)
    assert (zoe.first_name, zoe.last_name, zoe.postal_code, zoe.birth_date) == (
        "Zoé",
        "Durand",
        "75011",
        date(1980, 1, 2),
    )
    assert zoe.attributes == {"carte": "A1", "ville_natale": "Metz", "fidelite": "123"}
    assert (zoe.consent_basis, zoe.consent_source) == ("opt_in", "import")  # strengthened
    assert zoe.last_import_id == job.pk
    zoe_tags = set(ContactTag.objects.filter(contact=zoe).values_list("tag__name", flat=True))
    assert {t.casefold() for t in zoe_tags} == {"vip", "fidèle"}  # a new tag's spelling: either one

    jean = Contact.objects.get(org=org_a, phone="+33612345679")
    assert (jean.first_name, jean.last_name, jean.birth_date) == ("Jean", "Martin", date(1985, 5, 17))
    assert (jean.region, jean.timezone, jean.calendar) == ("FR", "Europe/Paris", "FR-57")
    assert (jean.consent_basis, jean.consent_source, jean.opted_out) == ("opt_in", "import", False)
    jean_tags = set(ContactTag.objects.filter(contact=jean).values_list("tag__name", flat=True))
    assert {t.casefold() for t in jean_tags} == {"noël", "fidèle"}
    assert Contact.objects.get(org=org_a, phone="+33612345681").birth_date is None
    assert not Contact.objects.filter(org=org_a, phone="+33612345674").exists()

    proofs = ConsentProof.objects.filter(org=org_a, import_job_id=job.pk)
    assert proofs.count() == 4
    assert set(proofs.values_list("basis", "source")) == {("opt_in", "import")}
    assert "fidelite.csv" in proofs.first().note
    assert ContactList.objects.get(org=org_a, name="Magasin").memberships.count() == 4

    errors = rejected_errors(job)
    assert len(errors) == 3
    # the later copy of +33612345679, the landline, the stop: numbers Excel keeps as text, no apostrophe
    assert sorted(phone for phone, _e in errors) == sorted(
        ['="+33612345679"', '="01 23 45 67 89"', '="0612345674"']
    )
    assert all(error for _p, error in errors)


def test_consent_is_never_weakened_and_region_filled_from_the_stored_postal_code(org_a, user_a, processes):
    contact = services.contact_create(
        org=org_a, actor=user_a, phone="0612345678", postal_code="57000", consent_basis="opt_in"
    )
    Contact.objects.filter(pk=contact.pk).update(region="", timezone="", calendar="")
    content = (HEADER + ";Zoé;;0612345678;;;;;\r\n;A;;0612345670;;;;;\r\n;B;;0612345671;;;;;\r\n").encode()
    job = run_import(org_a, user_a, "soft.csv", content, basis="soft_opt_in")
    assert (job.created, job.updated) == (2, 1)
    contact.refresh_from_db()
    assert (contact.consent_basis, contact.first_name) == ("opt_in", "Zoé")
    assert (contact.region, contact.timezone, contact.calendar) == ("FR", "Europe/Paris", "FR-57")
    assert ConsentProof.objects.filter(contact=contact, import_job_id=job.pk, basis="soft_opt_in").exists()


def test_suppressed_existing_contact_is_flagged_not_imported(org_a, user_a, processes):
    contact = services.contact_create(org=org_a, actor=user_a, phone="0612345678")
    suppression_add(org=org_a, phone_e164="+33612345678", source="inbound_keyword")
    Contact.objects.filter(pk=contact.pk).update(opted_out=False)  # a flag out of step with the list
    lines = "".join(f";N{i};;06123456{i:02d};;;;;\r\n" for i in range(80, 90))
    job = run_import(org_a, user_a, "stop.csv", (HEADER + lines + ";Z;;0612345678;;;;;\r\n").encode())
    assert (job.created, job.updated, job.suppressed) == (10, 0, 1)
    contact.refresh_from_db()
    assert contact.opted_out is True
    assert not ConsentProof.objects.filter(contact=contact, import_job_id=job.pk).exists()


def test_prepare_chunk_is_pure_and_reports_invalid_rows_and_duplicates(settings):
    plan = jobs.ColumnPlan.build(
        ["Prénom", "Portable", "Code postal", "Tags", "Note"],
        {
            "Prénom": "first_name",
            "Portable": "phone",
            "Code postal": "postal_code",
            "Tags": "tags",
            "Note": "attribute",
        },
    )
    params = parallel._PrepareParams(
        fields=tuple(plan.fields), attributes=tuple(plan.attributes), region="FR", language="en"
    )
    chunk = [
        ["Zoé", "06 12 34 56 78", "6000", "VIP, vip;Noël", "=1+1"],
        ["Zoé bis", "+33612345678", "", "", ""],
        ["", "abc", "", "", ""],
        ["", "", "", "", ""],
        ["Jean", "6.12345679E+08", "", "", ""],
    ]
    prepared = jobs.prepare_chunk(params, chunk)
    assert (prepared.rows, prepared.staged, prepared.duplicates) == (5, 2, 1)
    assert prepared.invalid == {"invalid_phone": 1}
    assert sorted(prepared.tags) == ["Noël", "VIP"]
    staged = list(csv.reader(io.StringIO(prepared.copy)))
    assert [row[0] for row in staged] == ["0", "4"]
    first = dict(zip(jobs.STAGE_COLUMNS, staged[0], strict=True))
    assert (first["phone"], first["first_name"], first["postal_code"]) == ("+33612345678", "Zoé", "06000")
    assert first["tags"].split(jobs.TAG_SEPARATOR) == ["vip", "noël"]
    assert first["attributes"] == '{"note": "=1+1"}'
    assert (first["region"], first["timezone"]) == ("FR", "Europe/Paris")
    from compliance.models import phone_hash

    assert first["phone_hash"] == phone_hash("+33612345678")
    rejected = prepared.rejected.decode().splitlines()
    assert len(rejected) == 2 and rejected[0].startswith("Zoé bis;") and rejected[1].startswith(";abc;")
