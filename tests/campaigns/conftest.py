"""Fixtures of the pipeline tests: organisations with contacts, a loopback gateway server in a thread,
and a harness that runs the Celery tasks in-process, in order, so tests are deterministic."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests

from billing.services import credits_grant
from campaigns import enqueue, pipeline
from campaigns.gateways import signing
from campaigns.gateways.base import reset_gateways
from campaigns.gateways.loopback_server import LoopbackServer
from contacts.services import contact_create, contact_list_create

SECRET = "test-webhook-secret"
# Monday 15 June 2026, 10:00 in Paris: inside every French window.
MONDAY_10H = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
# Monday 21:00 in Paris: after FR_STRICT's 20:00.
MONDAY_21H = datetime(2026, 6, 15, 19, 0, tzinfo=UTC)
# Sunday 14 June 2026, 11:00 in Paris.
SUNDAY_11H = datetime(2026, 6, 14, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _campaign_settings(settings):
    settings.ROOT_URLCONF = "tests.campaigns.urls"
    settings.SMS_GATEWAY = "loopback"
    settings.GATEWAY_WEBHOOK_SECRET = SECRET
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SMS_GATEWAY_RATE_LIMITS = {}
    reset_gateways()
    yield
    reset_gateways()


@pytest.fixture
def loopback(settings) -> Iterator[LoopbackServer]:
    """A loopback gateway on a free port; receipts are not posted back unless a test sets webhook_base."""
    server = LoopbackServer(port=0, receipt_delay=3600, secret=SECRET, seed=1).start()
    settings.LOOPBACK_GATEWAY_URL = server.url
    reset_gateways()
    try:
        yield server
    finally:
        server.stop()
        reset_gateways()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def received(server: LoopbackServer) -> dict[str, int]:
    """How many messages each number received, read through the server's HTTP API (GET /messages)."""
    counts: dict[str, int] = {}
    for row in requests.get(f"{server.url}/messages", timeout=5).json():
        counts[row["to"]] = counts.get(row["to"], 0) + 1
    return counts


@dataclass
class Harness:
    """Stands in for the broker: records what the pipeline enqueues, and runs it when asked."""

    capture: object
    dispatches: list[int] = field(default_factory=list)
    batches: list[tuple[int, list[int], int | None]] = field(default_factory=list)

    def run(self, now: datetime | None = None, rounds: int = 50) -> int:
        """Runs the enqueued tasks (and what they enqueue) until nothing is left; retries with a
        countdown run too (the test passes the ``now`` it wants). Returns the number of tasks run."""
        ran = 0
        for _ in range(rounds):
            if not self.dispatches and not self.batches:
                return ran
            with self.capture(execute=True):
                while self.dispatches:
                    pipeline.campaign_dispatch(campaign_id=self.dispatches.pop(0), now=now)
                    ran += 1
                while self.batches:
                    org_id, ids, _countdown = self.batches.pop(0)
                    pipeline.batch_send(org_id=org_id, message_ids=ids, now=now)
                    ran += 1
        raise AssertionError("the pipeline did not settle")


@pytest.fixture
def harness(monkeypatch, django_capture_on_commit_callbacks) -> Harness:
    h = Harness(capture=django_capture_on_commit_callbacks)
    monkeypatch.setattr(enqueue, "enqueue_dispatch", lambda campaign_id: h.dispatches.append(campaign_id))
    monkeypatch.setattr(
        enqueue,
        "enqueue_batch",
        lambda org_id, ids, countdown=None: h.batches.append((org_id, list(ids), countdown)),
    )
    return h


def phone(i: int, prefix: str = "+3361") -> str:
    return f"{prefix}{i:07d}"


def make_audience(
    tenant,
    n: int,
    *,
    consent: str = "opt_in",
    name: str = "Clients",
    start: int = 0,
    credits: int = 0,
    prefix: str = "+3361",
    **fields,
):
    """A list of ``n`` contacts (created through the contacts services) and credits to send to them."""
    org = tenant.org
    contact_list = contact_list_create(org=org, actor=tenant.owner, name=name)
    contacts = [
        contact_create(
            org=org,
            actor=tenant.owner,
            phone=phone(start + i, prefix) if prefix == "+3361" else f"{prefix}{start + i:06d}",
            first_name=fields.get("first_name", f"Client{start + i}"),
            consent_basis=consent,
            consent_source="manual" if consent != "unknown" else "",
            list_ids=[contact_list.pk],
            **{k: v for k, v in fields.items() if k != "first_name"},
        )
        for i in range(n)
    ]
    if credits:
        credits_grant(org=org, amount=credits, reference="test")
    return contact_list, contacts


def signed_post(client, path: str, payload: dict, secret: str = SECRET):
    body = json.dumps(payload).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signing.sign(body, secret).items()}
    return client.post(path, data=body, content_type="application/json", **headers)


import tests.campaigns.factories  # noqa: E402,F401 - registers the campaigns factories for the tenancy walk
