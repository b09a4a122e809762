"""Periodic tasks: each under a non-blocking lock, each returning a dict of counts."""

from __future__ import annotations

import pytest

from campaigns import tasks
from campaigns.beat import BEAT_SCHEDULE
from campaigns.locks import nonblocking_lock, periodic_lock

from .conftest import MONDAY_10H

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["cache", "redis"])
def lock_backend(request, settings):
    if request.param == "redis":
        import redis

        url = settings.REDIS_URL or "redis://127.0.0.1:6379/5"
        try:
            redis.Redis.from_url(url).ping()
        except redis.RedisError:
            pytest.skip("Redis is not reachable")
        settings.REDIS_URL = url
    else:
        settings.REDIS_URL = ""
    return request.param


def test_a_held_lock_is_not_taken_twice(lock_backend):
    with nonblocking_lock("test-lock", timeout=30) as first:
        assert first
        with nonblocking_lock("test-lock", timeout=30) as second:
            assert not second
    with nonblocking_lock("test-lock", timeout=30) as again:
        assert again


def test_an_overlapping_periodic_run_does_nothing(lock_backend):
    calls = []

    @periodic_lock("test-periodic", timeout=30)
    def job():
        calls.append(1)
        return {"done": 1}

    with nonblocking_lock("test-periodic", timeout=30):
        assert job() == {"skipped_locked": 1}
    assert job() == {"done": 1}
    assert calls == [1]


def test_every_beat_entry_names_a_task_that_returns_counts(tenant_a):
    registered = {
        t.name: t
        for t in (
            tasks.campaigns_launch_due,
            tasks.messages_release_deferred,
            tasks.messages_reconcile,
            tasks.campaigns_settle,
        )
    }
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == set(registered)
    for task in registered.values():
        result = task(now=MONDAY_10H.isoformat())
        assert isinstance(result, dict) and all(isinstance(v, int) for v in result.values())
