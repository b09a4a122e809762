"""The beat check that re-queues import jobs whose task was lost: a worker that died mid-file, or a
queued task that never reached a worker (a broker restart, a task renamed by an upgrade)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import enqueue, tasks
from contacts.jobs.run import STALLED_AFTER
from contacts.models import ImportJob, ImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(enqueue, "enqueue_import_job", sent.append)
    return sent


def make_job(org, status, *, age=timedelta(0), heartbeat_age=None):
    now = timezone.now()
    return ImportJob.objects.create(
        org=org,
        status=status,
        file_path="imports/x.csv",
        original_filename="x.csv",
        consent_basis="opt_in",
        consent_source="Caisse",
        created_at=now - age,
        heartbeat_at=None if heartbeat_age is None else now - heartbeat_age,
    )


def test_lost_jobs_are_queued_again_and_live_ones_are_left_alone(tenant_a, queued):
    org = tenant_a.org
    old = STALLED_AFTER + timedelta(minutes=1)
    dead_worker = make_job(org, ImportStatus.RUNNING, age=old, heartbeat_age=old)
    never_ran = make_job(org, ImportStatus.QUEUED, age=old)
    requeued_before = make_job(org, ImportStatus.QUEUED, age=old * 3, heartbeat_age=old)
    make_job(org, ImportStatus.RUNNING, age=old, heartbeat_age=timedelta(seconds=5))  # working
    make_job(org, ImportStatus.QUEUED, age=timedelta(minutes=1))  # waiting its turn
    make_job(org, ImportStatus.DONE, age=old, heartbeat_age=old)
    make_job(org, ImportStatus.FAILED, age=old, heartbeat_age=old)

    assert tasks.import_jobs_requeue_stalled() == {"requeued": 3}
    assert sorted(queued) == sorted([dead_worker.pk, never_ran.pk, requeued_before.pk])

    # Each is queued once per STALLED_AFTER, not on every beat.
    assert tasks.import_jobs_requeue_stalled() == {"requeued": 0}
    assert len(queued) == 3
