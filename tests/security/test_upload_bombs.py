"""Hole 6: upload memory bombs. A small XLSX whose shared strings expand to hundreds of MB, and a CSV with
one 20 MiB line, are refused with a clear 400 by the wizard and by the API, without the web process
growing: archive sizes are checked before openpyxl opens the workbook, CSV records are bounded before
they are split, and the parsing runs in a child process under a memory limit."""

from __future__ import annotations

import gc
import io
import re
import resource
import zipfile
from contextlib import contextmanager

import pytest

from contacts.importing.errors import ImportFileError
from contacts.importing.reader import open_table
from contacts.models import Contact, ImportJob

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
# What the process may grow by while refusing a bomb: the test client alone holds a copy or two of the
# 20 MiB request body.
GROWTH_LIMIT = 100 * MiB


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.IMPORT_FILES_ROOT = str(tmp_path / "imports")


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Clients" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="sharedStrings.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>"
    ),
    "xl/worksheets/sheet1.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>Portable</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Zoé</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>0612345678</t></is></c></row>'
        "</sheetData></worksheet>"
    ),
}


def xlsx_bomb(expanded: int = 200 * MiB) -> bytes:
    """A valid workbook whose one shared string is `expanded` bytes of 'A': about 200 KiB on disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                b'uniqueCount="1"><si><t>'
            )
            block = b"A" * MiB
            for _ in range(expanded // MiB):
                part.write(block)
            part.write(b"</t></si></sst>")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb_xlsx(tmp_path_factory):
    path = tmp_path_factory.mktemp("bombs") / "clients.xlsx"
    path.write_bytes(xlsx_bomb())
    assert path.stat().st_size < 400 * 1024
    return path


@pytest.fixture(scope="module")
def long_line_csv(tmp_path_factory):
    """A header, then one 20 MiB line of millions of tiny cells (each a Python object once split)."""
    path = tmp_path_factory.mktemp("bombs") / "clients.csv"
    with path.open("wb") as out:
        out.write("Prénom;Portable\r\n".encode())
        block = b"ab;" * (MiB // 3)
        for _ in range(20):
            out.write(block)
        out.write(b"\r\nZo\xc3\xa9;0612345678\r\n")
    return path


def _rss_peak() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextmanager
def peak_growth():
    """Measures how much this process's peak RSS grows inside the block (`.bytes`). The peak is reset
    first where Linux allows it, so that an earlier test's peak cannot hide a bomb."""

    class Growth:
        bytes = 0

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    before = _rss_peak()
    growth = Growth()
    yield growth
    growth.bytes = _rss_peak() - before


def _api_post(tenant, path):
    with path.open("rb") as handle:
        return tenant.api().post(
            "/api/v1/imports",
            {"file": handle, "consent_basis": "opt_in", "consent_source": "caisse"},
            format="multipart",
        )


def _wizard_post(tenant, path):
    client = tenant.client()
    with path.open("rb") as handle:
        return client.post("/contacts/import/", {"file": handle}, HTTP_ACCEPT_LANGUAGE="en")


def _nothing_imported(tenant):
    assert not ImportJob.objects.filter(org=tenant.org).exists()
    assert not Contact.objects.filter(org=tenant.org).exists()


def test_wizard_refuses_an_xlsx_bomb_before_parsing_it(tenant_a, bomb_xlsx):
    with peak_growth() as growth:
        response = _wizard_post(tenant_a, bomb_xlsx)
    assert response.status_code == 400
    page = response.content.decode()
    assert "CSV" in page and "MB" in page
    assert growth.bytes < GROWTH_LIMIT, growth.bytes / MiB
    _nothing_imported(tenant_a)


def test_api_refuses_an_xlsx_bomb_before_parsing_it(tenant_a, bomb_xlsx):
    with peak_growth() as growth:
        response = _api_post(tenant_a, bomb_xlsx)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "xlsx_expands_too_much"
    assert "CSV" in body["file"][0]
    assert growth.bytes < GROWTH_LIMIT, growth.bytes / MiB
    _nothing_imported(tenant_a)


def test_wizard_refuses_a_20_mib_csv_line_naming_it(tenant_a, long_line_csv):
    with peak_growth() as growth:
        response = _wizard_post(tenant_a, long_line_csv)
    assert response.status_code == 400
    page = response.content.decode()
    assert "64" in page and re.search(r"(line|ligne) 2\b", page, re.IGNORECASE)
    assert growth.bytes < GROWTH_LIMIT, growth.bytes / MiB
    _nothing_imported(tenant_a)


def test_api_refuses_a_20_mib_csv_line_naming_it(tenant_a, long_line_csv):
    with peak_growth() as growth:
        response = _api_post(tenant_a, long_line_csv)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "line_too_long"
    assert re.search(r"(line|ligne) 2\b", body["file"][0], re.IGNORECASE) and "64" in body["file"][0]
    assert growth.bytes < GROWTH_LIMIT, growth.bytes / MiB
    _nothing_imported(tenant_a)


def test_a_record_spread_over_many_short_lines_is_bounded_too():
    # Quoted newlines make one record of many short physical lines: the bound is on the record.
    content = b"Prenom;Portable\n" + b'"x\n";' * 200_000 + b"\n"
    with pytest.raises(ImportFileError) as exc:
        table = open_table(io.BytesIO(content), "clients.csv")
        list(table.rows)
    assert exc.value.code == "malformed_csv" and exc.value.params["line"] == 2


def test_a_bomb_that_passes_the_checks_only_kills_the_parsing_child(tenant_a, settings):
    # Archive limits off: only the memory limit of the parsing child stands between the bomb and us.
    settings.IMPORT_XLSX_MAX_EXPANDED_BYTES = 10 * 1024 * MiB
    settings.IMPORT_XLSX_MAX_PART_BYTES = 10 * 1024 * MiB
    settings.IMPORT_XLSX_MAX_RATIO = 10**6
    settings.IMPORT_PARSE_MEMORY_BYTES = 128 * MiB
    upload = io.BytesIO(xlsx_bomb(expanded=400 * MiB))
    upload.name = "clients.xlsx"
    with peak_growth() as growth:
        response = tenant_a.api().post(
            "/api/v1/imports",
            {
                "file": upload,
                "consent_basis": "opt_in",
                "consent_source": "caisse",
            },
            format="multipart",
        )
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "needs_too_much_memory"
    assert "CSV" in body["file"][0]
    assert growth.bytes < GROWTH_LIMIT, growth.bytes / MiB
    _nothing_imported(tenant_a)


def test_ordinary_files_still_import_through_the_wizard_checks(tenant_a):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["Prénom", "Portable"])
    workbook.active.append(["Zoé", "0612345678"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "clients.xlsx"
    client = tenant_a.client()
    response = client.post("/contacts/import/", {"file": buffer})
    assert response.status_code == 302
    mapping = client.get(response["Location"])
    assert mapping.status_code == 200 and "0612345678" in mapping.content.decode()


def test_a_long_line_past_the_preview_fails_the_job_in_the_worker(
    tenant_a, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # The first 50 rows are fine, so the upload is accepted; the worker's first pass (in its memory-limited
    # child) meets the long line and fails the job, naming the line, before anything is written.
    rows = "".join(f"Client {i};06{i:08d}\r\n" for i in range(60))
    content = ("Prénom;Portable\r\n" + rows).encode() + b"ab;" * 30_000 + b"\r\nZoe;0699999999\r\n"
    upload = io.BytesIO(content)
    upload.name = "clients.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.api().post(
            "/api/v1/imports",
            {"file": upload, "consent_basis": "opt_in", "consent_source": "caisse"},
            format="multipart",
        )
    assert response.status_code == 202, response.content[:300]
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == "failed"
    assert re.search(r"(line|ligne) 62\b", job.error_message, re.IGNORECASE), job.error_message
    assert not Contact.objects.filter(org=tenant_a.org).exists()


def test_wizard_steps_after_the_upload_refuse_clearly_too(tenant_a, settings):
    client = tenant_a.client()
    upload = io.BytesIO(("Prénom;Portable\r\nZoé;0612345678\r\n" + "x" * 200 + ";0612345679\r\n").encode())
    upload.name = "clients.csv"
    response = client.post("/contacts/import/", {"file": upload})
    assert response.status_code == 302
    settings.IMPORT_CSV_MAX_RECORD_CHARS = 100  # lowered since the upload
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0].endswith("/contacts/import/")
    assert re.search(r"(line|ligne) 3\b", page.content.decode(), re.IGNORECASE)


def test_a_parsing_child_that_dies_is_a_clear_file_error():
    import os
    import signal

    from contacts.importing.isolation import run_isolated

    with pytest.raises(ImportFileError) as exc:
        run_isolated(lambda: os.kill(os.getpid(), signal.SIGKILL), memory_bytes=64 * MiB)  # the OOM killer
    assert exc.value.code == "needs_too_much_memory"
    with pytest.raises(ImportFileError) as exc:
        run_isolated(lambda: bytearray(512 * MiB), memory_bytes=64 * MiB)
    assert exc.value.code == "needs_too_much_memory"
    assert run_isolated(lambda n: n + 1, 41, memory_bytes=64 * MiB) == 42
    with pytest.raises(ZeroDivisionError):
        run_isolated(lambda: 1 / 0, memory_bytes=64 * MiB)
