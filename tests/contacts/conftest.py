"""Fixtures of the contacts tests: the two organisations of tests/conftest.py, import files written to a
temporary import directory, and a helper that runs an import job eagerly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from contacts import jobs
from contacts.models import ImportJob

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.IMPORT_FILES_ROOT = str(tmp_path / "imports")
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def org_a(tenant_a):
    return tenant_a.org


@pytest.fixture
def user_a(tenant_a):
    return tenant_a.owner


def data_file(name: str, content: bytes) -> Path:
    """Writes (or rewrites) a corpus file under tests/data/ and returns its path."""
    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / name
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)
    return path


def run_import(
    org, user, name: str, content: bytes, *, mapping=None, basis="opt_in", list_name="", keep=False
):
    """Stores a file, creates the job (without dispatching it) and runs it in this process."""
    from django.db import transaction

    if isinstance(content, Path):
        content = content.read_bytes()
    path, size = jobs.import_file_store(org=org, fileobj=io.BytesIO(content), filename=name)
    with transaction.atomic():  # on_commit callbacks of a test transaction never fire: run it ourselves
        job = jobs.import_job_create(
            org=org,
            actor=user,
            path=path,
            original_filename=name,
            file_size=size,
            consent_basis=basis,
            consent_source="Caisse du magasin",
            mapping=mapping,
            list_name=list_name,
            keep_unknown_columns=keep,
        )
    jobs.import_job_run(job_id=job.pk)
    return ImportJob.objects.get(pk=job.pk)
