"""The whole loop with a real Celery worker process, Redis, the database and the loopback gateway:
launch -> coordinator -> batch tasks -> gateway -> signed receipts back to the platform's webhook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from billing.selectors import credits_balance, credits_ledger_sum, credits_reserved
from campaigns import enqueue, periodic, pipeline
from campaigns.gateways.base import reset_gateways
from campaigns.gateways.loopback_server import LoopbackServer
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.services import campaign_create, campaign_launch, campaign_transactional_approve

from .conftest import SECRET, make_audience, received

ROOT = Path(__file__).resolve().parents[2]
N = 50


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or django_settings.REDIS_URL
    if not url:
        return None
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        return None
    return url


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait(predicate, timeout: float, what: str, worker: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker.poll() is not None:
            break
        time.sleep(0.25)
    raise AssertionError(f"{what} not reached (worker exit code {worker.poll()})")


def _start_worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smsplatform",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.fixture
def stack(live_server, settings, tmp_path):
    """A loopback gateway posting receipts to the live server, and the environment of a worker process."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the worker process cannot see SQLite's in-memory test database")
    redis_url = _redis_url()
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    import redis

    redis.Redis.from_url(redis_url).delete("celery")  # tasks left over by an earlier, interrupted run
    server = LoopbackServer(port=0, receipt_delay=0.2, secret=SECRET, webhook_base=live_server.url).start()
    settings.LOOPBACK_GATEWAY_URL = server.url
    reset_gateways()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.campaigns.worker_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SECRET_KEY": django_settings.SECRET_KEY,  # suppression hashes must agree across processes
        "SMS_GATEWAY": "loopback",
        "LOOPBACK_GATEWAY_URL": server.url,
        "GATEWAY_WEBHOOK_SECRET": SECRET,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    try:
        yield server, env, tmp_path / "worker.log"
    finally:
        server.stop()
        redis.Redis.from_url(redis_url).delete("celery")


def _campaign(tenant, contact_list):
    # Transactional: the worker runs on the real clock, and a marketing campaign launched on a Sunday
    # evening would (rightly) be deferred.
    campaign = campaign_create(
        org=tenant.org,
        actor=tenant.owner,
        name="Intégration",
        body="Bonjour {first_name}",
        sender_id="FLEURS",
        category="transactional",
        list_ids=[contact_list.pk],
    )
    campaign = campaign_transactional_approve(campaign=campaign, actor=None)  # an operator's decision
    campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign)  # enqueued on commit
    return campaign


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_campaign_through_a_real_worker(tenant_a, stack):
    server, env, log = stack
    worker = _start_worker(env, log)
    try:
        contact_list, contacts = make_audience(tenant_a, N)
        campaign = _campaign(tenant_a, contact_list)

        def completed() -> bool:
            periodic.campaigns_settle()  # what beat does every 30 s
            return Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED

        _wait(completed, 90, "campaign completed", worker)
        delivered = Message.objects.filter(campaign=campaign, status=MessageStatus.DELIVERED)
        _wait(lambda: delivered.count() == N, 60, "all receipts delivered", worker)
        assert received(server) == {c.phone: 1 for c in contacts}
        assert server.stats["receipt_post_failures"] == 0
        assert credits_reserved(tenant_a.org) == 0
        assert credits_balance(tenant_a.org) == 100 - N == credits_ledger_sum(tenant_a.org)
    except AssertionError:
        print(log.read_text()[-5000:])
        raise
    finally:
        _stop(worker)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_campaign_loses_nothing_and_sends_nothing_twice(tenant_a, stack):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services import credits_grant

    server, env, log = stack
    total = 400
    env["TEST_CAMPAIGN_BATCH_SIZE"] = "20"
    server.control({"response_delay": 0.05})
    contact_list, contacts = make_audience(tenant_a, total)
    credits_grant(org=tenant_a.org, amount=total, reference="test")
    worker = _start_worker(env, log)
    try:
        campaign = _campaign(tenant_a, contact_list)
        _wait(lambda: len(server.messages()) >= 100, 60, "a quarter sent", worker)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert len(server.messages()) < total, "the worker finished before it could be killed"
        # What beat would do once the claims are old enough: settle rows stuck in ``sending`` by asking
        # the gateway, and re-queue pending rows whose tasks died with the worker.
        later = timezone.now() + timedelta(hours=1)
        counts = pipeline.messages_reconcile(now=later)
        assert counts["unreachable"] == 0
        worker = _start_worker(env, log)

        def completed() -> bool:
            periodic.campaigns_settle()
            return Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED

        _wait(completed, 120, "campaign completed after the restart", worker)
        assert received(server) == {c.phone: 1 for c in contacts}
        assert Message.objects.filter(campaign=campaign, status__in=("sent", "delivered")).count() == total
        assert credits_reserved(tenant_a.org) == 0
        assert credits_balance(tenant_a.org) == 100 == credits_ledger_sum(tenant_a.org)
    except AssertionError:
        print(log.read_text()[-5000:])
        raise
    finally:
        _stop(worker)


@pytest.mark.django_db(transaction=True)
def test_two_launches_racing_for_the_same_credits_never_overdraw(tenant_a, monkeypatch):
    """Each campaign needs 60 of the 100 credits: whatever the interleaving, one launches and the other
    is refused with nothing written (the account row lock serialises the reservations)."""
    import threading

    from django.db import connections

    from billing.services import InsufficientCredits

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises whole transactions: there is no race to test")
    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: None)
    contact_list, _ = make_audience(tenant_a, 6)
    campaigns = [
        campaign_create(
            org=tenant_a.org,
            actor=tenant_a.owner,
            name=f"R{i}",
            body="a" * 1500,
            sender_id="FLEURS",
            list_ids=[contact_list.pk],
        )
        for i in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(campaign):
        try:
            barrier.wait()
            campaign_launch(org=tenant_a.org, actor=None, campaign=campaign)
            outcomes.append("launched")
        except InsufficientCredits:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c,)) for c in campaigns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["launched", "refused"]
    assert credits_balance(tenant_a.org) == 40 == credits_ledger_sum(tenant_a.org)
    assert Message.objects.count() == 6
