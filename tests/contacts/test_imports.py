"""The import job on a corpus of messy files (tests/data/, written by these tests)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from compliance.services import suppression_add
from contacts import jobs, services
from contacts.jobs import run as jobs_run
from contacts.models import ConsentProof, Contact, ContactList, ContactTag, ImportJob

from .conftest import data_file, run_import

HEADER = "Civilité;Prénom;Nom;Portable;Code postal;Ville\r\n"


def rejected_rows(job: ImportJob) -> list[dict]:
    """The rejected rows as the API gives them (columns ``error`` and ``type``), in French."""
    with translation.override("fr"):
        raw = b"".join(jobs.rejected_rows_stream(jobs.rejected_rows_file(job), machine=True))
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_windows_1252_semicolon(org_a, user_a):
    content = (
        HEADER
        + "Mme;Hélène;Lefèvre;06 12 34 56 78;57000;Metz\r\n"
        + "M.;François;Gérard;+33 6 12 34 56 79;75011;Paris\r\n"
    ).encode("cp1252")
    job = run_import(org_a, user_a, "caisse.csv", data_file("cp1252_semicolon.csv", content))
    assert (job.status, job.total_rows, job.created, job.invalid) == ("done", 2, 2, 0)
    helene = Contact.objects.get(org=org_a, phone="+33612345678")
    assert (helene.first_name, helene.last_name, helene.gender) == ("Hélène", "Lefèvre", "F")
    assert (helene.region, helene.timezone, helene.calendar) == ("FR", "Europe/Paris", "FR-57")
    proof = ConsentProof.objects.get(contact=helene)
    assert (proof.basis, proof.source, proof.import_job_id) == ("opt_in", "import", job.pk)


def test_utf8_bom_comma_quoted_newlines_blank_lines(org_a, user_a):
    content = (
        "\ufeffPrénom,Nom,Mobile,Notes\r\n"
        '"Zoé","Durand","0612345678","ligne 1\nligne 2"\r\n'
        "\r\n\r\n"
        '"Jean","Dupont, fils","0033 6 12 34 56 79",""\r\n'
        ",,,\r\n"
    ).encode()
    job = run_import(org_a, user_a, "export.csv", data_file("utf8_bom_quoted.csv", content), keep=True)
    assert (job.status, job.created, job.invalid, job.duplicates) == ("done", 2, 0, 0)
    zoe = Contact.objects.get(org=org_a, phone="+33612345678")
    assert zoe.attributes == {"notes": "ligne 1\nligne 2"}
    assert Contact.objects.get(org=org_a, phone="+33612345679").last_name == "Dupont, fils"


def test_missing_phone_column_is_refused_before_anything(org_a, user_a):
    content = "Prénom;Nom;Ville\nZoé;Durand;Paris\n".encode()
    with pytest.raises(ValidationError) as exc:
        run_import(org_a, user_a, "nophone.csv", data_file("no_phone_column.csv", content))
    assert "mapping" in exc.value.message_dict
    assert not ImportJob.objects.filter(org=org_a).exists()


@pytest.mark.parametrize(
    "name,content,code",
    [
        ("empty.csv", b"", "empty_file"),
        ("blank.csv", b"\r\n\r\n  \r\n", "empty_file"),
        ("photo.csv", bytes(range(256)) * 64, "binary_file"),
    ],
)
def test_unusable_files_get_a_clear_error(org_a, user_a, name, content, code):
    path = data_file(name, content)
    with pytest.raises(ValidationError) as exc:
        run_import(org_a, user_a, name, path)
    assert exc.value.message_dict["file"][0]
    assert not Contact.objects.filter(org=org_a).exists()


def test_duplicates_excel_damage_dom_foreign_and_landlines(org_a, user_a):
    rows = [
        "Mme;A;A;06 12 34 56 78;;",
        "Mme;A bis;A;+33612345678;;",  # duplicate of the first row
        "M.;B;B;6.12345679E+08;;",  # Excel scientific notation
        "M.;C;C;612345680;;",  # Excel dropped the leading zero
        "M.;Mayotte;YT;0639 01 23 45;97600;Mamoudzou",
        "M.;Réunion;RE;0692 12 34 56;97400;Saint-Denis",
        "M.;Guadeloupe;GP;0690 12 34 56;;",
        "M.;UK;GB;+44 7400 123456;;",
        "M.;Fixe;FR;01 23 45 67 89;;",  # a landline: not mobile
        "M.;Rien;FR;;;",  # no number
        "M.;Texte;FR;pas de numéro;;",
    ]
    content = (HEADER + "\r\n".join(rows) + "\r\n").encode("cp1252")
    job = run_import(org_a, user_a, "messy.csv", data_file("messy.csv", content))
    assert job.status == "done"
    assert (job.total_rows, job.created, job.duplicates, job.invalid) == (11, 7, 1, 3)
    assert job.invalid_by_reason == {"not_mobile": 1, "missing_phone": 2}
    phones = set(Contact.objects.filter(org=org_a).values_list("phone", flat=True))
    assert {
        "+33612345679",
        "+33612345680",
        "+262639012345",
        "+262692123456",
        "+590690123456",
        "+447400123456",
    } <= phones
    regions = dict(Contact.objects.filter(org=org_a).values_list("phone", "region"))
    assert (
        regions["+262639012345"] == "YT"
        and regions["+262692123456"] == "RE"
        and regions["+590690123456"] == "GP"
    )
    assert Contact.objects.get(org=org_a, phone="+262639012345").timezone == "Indian/Mayotte"
    rejected = rejected_rows(job)
    assert len(rejected) == 4  # 3 invalid + 1 duplicate
    assert list(rejected[0]) == [
        "Civilité", "Prénom", "Nom", "Portable", "Code postal", "Ville", "error", "type"
    ]  # fmt: skip
    assert all(r["error"] for r in rejected)
    assert sorted(r["type"] for r in rejected) == ["duplicate", "invalid", "invalid", "invalid"]


def test_same_file_twice_creates_nothing_and_updates_without_erasing(org_a, user_a):
    content = (HEADER + "Mme;Zoé;Durand;0612345678;75011;Paris\r\nM.;Jean;;0612345679;;\r\n").encode()
    first = run_import(org_a, user_a, "a.csv", content)
    assert (first.created, first.updated) == (2, 0)
    # The second file has empty cells and a new first name: empty cells never erase data.
    second_content = (HEADER + "Mme;Zoé;;0612345678;;\r\nM.;Jean-Marc;;0612345679;;Lyon\r\n").encode()
    second = run_import(org_a, user_a, "b.csv", second_content)
    assert (second.created, second.updated, second.duplicates) == (0, 2, 0)
    zoe = Contact.objects.get(org=org_a, phone="+33612345678")
    assert (zoe.last_name, zoe.postal_code, zoe.city) == ("Durand", "75011", "Paris")
    jean = Contact.objects.get(org=org_a, phone="+33612345679")
    assert (jean.first_name, jean.city) == ("Jean-Marc", "Lyon")
    third = run_import(org_a, user_a, "a.csv", content)
    assert (third.created, third.updated) == (0, 2)
    assert Contact.objects.filter(org=org_a).count() == 2


def test_tags_are_merged_and_list_filled(org_a, user_a):
    services.contact_create(org=org_a, actor=user_a, phone="0612345678", tags=["vip"])
    content = "Portable;Tags\r\n0612345678;fidèle, noël\r\n0612345679;noël\r\n".encode()
    job = run_import(org_a, user_a, "tags.csv", content, list_name="Clients magasin")
    assert (job.created, job.updated) == (1, 1)
    tags = set(
        ContactTag.objects.filter(org=org_a, contact__phone="+33612345678").values_list(
            "tag__name", flat=True
        )
    )
    assert tags == {"vip", "fidèle", "noël"}
    contact_list = ContactList.objects.get(org=org_a, name="Clients magasin")
    assert contact_list.memberships.count() == 2


def test_opted_out_number_is_never_resubscribed(org_a, user_a):
    services.contact_create(org=org_a, actor=user_a, phone="0612345678", consent_basis="opt_in")
    suppression_add(org=org_a, phone_e164="+33612345678", source="inbound_keyword")
    suppression_add(org=org_a, phone_e164="+33612345670", source="manual")  # no contact any more
    content = (HEADER + ";A;A;0612345678;;\r\n;B;B;0612345670;;\r\n;C;C;0612345671;;\r\n").encode()
    job = run_import(org_a, user_a, "stop.csv", content)
    assert (job.created, job.updated, job.suppressed) == (1, 0, 2)
    assert Contact.objects.get(org=org_a, phone="+33612345678").opted_out is True
    assert not Contact.objects.filter(org=org_a, phone="+33612345670").exists()
    rejected = rejected_rows(job)
    assert {r["error"] for r in rejected} == {"Désinscrit : ce numéro a demandé à ne plus recevoir de SMS"}
    assert [r["type"] for r in rejected] == ["opted_out", "opted_out"]


def test_job_interrupted_half_way_resumes_without_duplicates(org_a, user_a, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 3
    lines = [f";N{i};X;06123456{i:02d};;" for i in range(10)] + [";dup;X;0612345600;;"]
    content = (HEADER + "\r\n".join(lines) + "\r\n").encode()
    original = jobs_run.chunk_write
    calls = {"n": 0}

    def crash_on_third(job, writer, chunk, rejected):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return original(job, writer, chunk, rejected)

    monkeypatch.setattr(jobs_run, "chunk_write", crash_on_third)
    job = run_import(org_a, user_a, "big.csv", content)
    assert job.status == "failed" and job.processed_rows == 6
    assert "6" in job.error_message
    assert Contact.objects.filter(org=org_a).count() == 6

    monkeypatch.setattr(jobs_run, "chunk_write", original)
    jobs.import_job_resume(org=org_a, actor=user_a, job=job)
    jobs.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created, job.updated, job.duplicates) == (
        "done",
        11,
        10,
        0,
        1,
    )
    assert Contact.objects.filter(org=org_a).count() == 10
    assert ConsentProof.objects.filter(org=org_a, import_job_id=job.pk).count() == 10
    assert len(rejected_rows(job)) == 1


def test_job_killed_while_running_is_picked_up_again(org_a, user_a, settings, monkeypatch):
    """A worker dies after committing a chunk: the redelivered task continues from the checkpoint."""
    settings.IMPORT_CHUNK_ROWS = 2
    content = (HEADER + "".join(f";N{i};X;06123456{i:02d};;\r\n" for i in range(5))).encode()
    original = jobs_run.chunk_write
    state = {"n": 0}

    class Killed(BaseException):
        pass

    def killed_after_first(job, writer, chunk, rejected):
        state["n"] += 1
        if state["n"] == 2:
            raise Killed
        return original(job, writer, chunk, rejected)

    monkeypatch.setattr(jobs_run, "chunk_write", killed_after_first)
    with pytest.raises(Killed):
        run_import(org_a, user_a, "k.csv", content)
    job = ImportJob.objects.get(org=org_a)
    assert (job.status, job.processed_rows) == ("running", 2)
    monkeypatch.setattr(jobs_run, "chunk_write", original)
    jobs.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created, job.processed_rows) == ("done", 5, 5)
    assert Contact.objects.filter(org=org_a).count() == 5


def test_malformed_file_fails_as_a_whole(org_a, user_a):
    content = (HEADER + ';A;A;0612345678;;\r\n;"B;B;0612345679;;\r\n' + ";C;C;0612345670;;\r\n" * 3).encode()
    job = run_import(org_a, user_a, "broken.csv", content)
    if job.status == "failed":
        assert job.error_message
        assert not Contact.objects.filter(org=org_a).exists()
    else:  # the engine may read an unclosed quote up to the end of the file: then it is one bad row
        assert job.status == "done"
        assert job.created + job.invalid + job.duplicates == job.total_rows


def test_xlsx_file(org_a, user_a):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Prénom", "Nom", "Téléphone"])
    sheet.append(["Zoé", "Durand", 612345678])
    sheet.append(["Jean", "Dupont", "06 12 34 56 79"])
    buffer = io.BytesIO()
    book.save(buffer)
    # Not written to tests/data: an XLSX file embeds its creation time, so its bytes change on every run.
    job = run_import(org_a, user_a, "contacts.xlsx", buffer.getvalue())
    assert (job.status, job.created) == ("done", 2)


def test_import_is_scoped_to_its_organisation(org_a, user_a, tenant_b):
    services.contact_create(org=tenant_b.org, actor=tenant_b.owner, phone="0612345678", first_name="B")
    job = run_import(org_a, user_a, "a.csv", (HEADER + ";A;A;0612345678;;\r\n").encode())
    assert (job.created, job.updated) == (1, 0)
    assert Contact.objects.get(org=tenant_b.org).first_name == "B"
