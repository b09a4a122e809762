"""The pipeline at scale with a real Celery worker, Redis, PostgreSQL and the loopback gateway server:
the compliance outcomes of a 1,000-recipient marketing campaign, a worker killed with SIGKILL in the
middle of a 5,000-recipient campaign, and a gateway that times out after accepting a batch.

Independent of the wall clock (CI runs at night and on Sundays too): the organisation uses the rule pack
``FR_AF2M_2026`` (every day 08:00-21:30 in the recipient's local time; Sundays and holidays "discouraged",
i.e. allowed), so whether a marketing message may leave depends only on the recipient's local hour. At
the start of each test :func:`territories` picks, among French territories from New Caledonia to
Guadeloupe, one where it is between 09:00 and 20:30 now and one where it is between 22:00 and 07:00, both
for the next hour at least: the worker's own clock then necessarily agrees with the test's expectations.
Contacts carry the region, time zone and holiday calendar of their number, as the contacts module stores
them on import.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from django.db.models import Count, Sum

from billing.selectors import credits_balance, credits_ledger_sum, credits_reserved, price_per_segment
from billing.services import credits_grant
from campaigns import periodic, pipeline
from campaigns.gateways.base import reset_gateways
from campaigns.gateways.loopback_server import LoopbackServer
from campaigns.models import Campaign, CampaignStatus, Message
from campaigns.services import campaign_cancel, campaign_create, campaign_launch
from compliance.gate import NO_CONSENT, OUTSIDE_WINDOW, SUPPRESSED
from compliance.models import Suppression, SuppressionSource, phone_hash
from compliance.services import sending_rules_update
from contacts.models import Contact, ContactList, ListMembership
from contacts.services import recipient_context_tuple

from .conftest import SECRET
from .test_worker_integration import _database_url, _redis_url, _start_worker, _stop, _wait

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACK = "FR_AF2M_2026"
OPENS, CLOSES = 8 * 60, 21 * 60 + 30  # the pack's window, every day, in minutes of local time


@dataclass(frozen=True)
class Territory:
    region: str
    prefix: str  # a national numbering range with enough room for 5,000 numbers after it
    digits: int
    zone: str

    def phone(self, i: int) -> str:
        return f"{self.prefix}{i:0{self.digits}d}"


TERRITORIES = (
    Territory("FR", "+3361", 7, "Europe/Paris"),
    Territory("GP", "+590690", 6, "America/Guadeloupe"),
    Territory("GF", "+594694", 6, "America/Cayenne"),
    Territory("RE", "+262692", 6, "Indian/Reunion"),
    Territory("YT", "+262639", 6, "Indian/Mayotte"),
    Territory("NC", "+6877", 5, "Pacific/Noumea"),
    # UTC+12: the only one closed from 10:00 to 11:00 UTC, when Guadeloupe has opened and Noumea not closed.
    Territory("WF", "+68182", 4, "Pacific/Wallis"),
)


def _local_minutes(zone: str, at: datetime) -> int:
    local = at.astimezone(ZoneInfo(zone))
    return local.hour * 60 + local.minute


def territories(now: datetime, hold: timedelta = timedelta(hours=1)) -> tuple[Territory, Territory]:
    """(open, closed) at ``now`` and still so after ``hold``: open = 09:00-20:30 local, closed = 22:00-07:00
    local (an hour inside the 08:00-21:30 window, half an hour outside it). Some pair always exists: the
    territories span UTC-4 to UTC+12."""

    def is_open(t: Territory) -> bool:
        return all(9 * 60 <= _local_minutes(t.zone, at) < 20 * 60 + 30 for at in (now, now + hold))

    def is_closed(t: Territory) -> bool:
        return all(not 7 * 60 <= _local_minutes(t.zone, at) < 22 * 60 for at in (now, now + hold))

    opened = [t for t in TERRITORIES if is_open(t)]
    closed = [t for t in TERRITORIES if is_closed(t)]
    assert opened and closed, f"no open/closed pair of territories at {now.isoformat()}"
    return opened[0], closed[0]


def next_opening(zone: str, after: datetime) -> datetime:
    """The next 08:00 local in ``zone`` after ``after`` (every day opens at 08:00 in the pack)."""
    local = after.astimezone(ZoneInfo(zone))
    opening = local.replace(hour=OPENS // 60, minute=OPENS % 60, second=0, microsecond=0)
    if opening <= local:
        opening = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    return opening.astimezone(UTC)


def audience(tenant, groups: dict[str, tuple[Territory, int, str]]) -> tuple[ContactList, dict[str, list]]:
    """One list with, per group name, ``count`` contacts of a territory with a consent basis; the data is
    bulk-inserted (the contacts services are tested elsewhere and would take most of the time budget),
    with the region, zone and calendar the contacts module computes from the number."""
    org = tenant.org
    contact_list = ContactList.objects.create(org=org, name="Scale")
    start = 0
    rows: list[Contact] = []
    names: list[str] = []
    for name, (territory, count, consent) in groups.items():
        for i in range(count):
            phone = territory.phone(start + i)
            region, zone, calendar = recipient_context_tuple(phone)
            assert (region, zone) == (territory.region, territory.zone), phone
            rows.append(
                Contact(
                    org=org,
                    phone=phone,
                    first_name=f"C{start + i}",
                    consent_basis=consent,
                    consent_source="manual" if consent != "unknown" else "",
                    region=region,
                    timezone=zone,
                    calendar=calendar,
                )
            )
            names.append(name)
        start += count
    Contact.objects.bulk_create(rows, batch_size=2000)
    contacts = list(Contact.objects.filter(org=org).order_by("id"))
    ListMembership.objects.bulk_create(
        [ListMembership(org=org, contact_list=contact_list, contact=c) for c in contacts], batch_size=2000
    )
    by_group: dict[str, list] = {name: [] for name in groups}
    by_phone = {c.phone: c for c in contacts}
    for row, name in zip(rows, names, strict=True):
        by_group[name].append(by_phone[row.phone])
    return contact_list, by_group


def opt_out(org, contacts) -> None:
    """STOP recorded for these numbers (suppression list and the contact's flag)."""
    Suppression.objects.bulk_create(
        [
            Suppression(
                org=org,
                phone_hash=phone_hash(c.phone),
                phone_e164=c.phone,
                source=SuppressionSource.INBOUND_KEYWORD,
                reason="keyword",
            )
            for c in contacts
        ]
    )
    Contact.objects.filter(org=org, pk__in=[c.pk for c in contacts]).update(opted_out=True)


def gateway_counts(server: LoopbackServer) -> dict[str, int]:
    """Messages per number at the gateway, through its HTTP API."""
    counts: dict[str, int] = {}
    for row in requests.get(f"{server.url}/messages", timeout=30).json():
        counts[row["to"]] = counts.get(row["to"], 0) + 1
    return counts


def statuses(campaign) -> dict[str, int]:
    rows = Message.objects.filter(campaign=campaign).values("status").annotate(n=Count("id")).order_by()
    return {row["status"]: row["n"] for row in rows}


def spent_by_segments(campaign) -> int:
    """What the messages the provider took cost: segments x the price of their region."""
    rows = (
        Message.objects.filter(campaign=campaign, status__in=("sent", "delivered", "undelivered"))
        .values("contact__region")
        .annotate(segments=Sum("segments"))
        .order_by()
    )
    return sum(row["segments"] * price_per_segment(campaign.org, row["contact__region"]) for row in rows)


def settle_until_completed(campaign, worker, timeout: float) -> None:
    def completed() -> bool:
        periodic.campaigns_settle()  # what beat does every 30 s
        return Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED

    _wait(completed, timeout, "campaign completed", worker)


@pytest.fixture
def scale(settings, tmp_path):
    """A loopback gateway (no receipts: not what these tests are about), a marketing organisation on
    ``PACK``, and the environment of a worker process."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the worker process cannot see SQLite's in-memory test database")
    redis_url = _redis_url()
    if redis_url is None:
        pytest.skip("Redis is not reachable")
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete("celery")  # tasks left over by an earlier, interrupted run
    server = LoopbackServer(port=0, receipt_delay=24 * 3600, secret=SECRET).start()
    settings.LOOPBACK_GATEWAY_URL = server.url
    reset_gateways()
    from django.conf import settings as django_settings

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
        "LOOPBACK_RATE_PER_SECOND": "0",  # no rate limit: the benchmark measures that one
    }
    try:
        yield server, env, tmp_path / "worker.log"
    finally:
        server.stop()
        client.delete("celery")


def _marketing_org(tenant, credits: int):
    sending_rules_update(org=tenant.org, actor=tenant.owner, rule_pack=PACK, restrictions={})
    tenant.org.refresh_from_db()
    credits_grant(org=tenant.org, amount=credits, reference="test")
    return tenant.org


def _launch(tenant, contact_list, category: str = "marketing"):
    campaign = campaign_create(
        org=tenant.org,
        actor=tenant.owner,
        name="Grande campagne",
        body="Bonjour {first_name}, -20% sur les roses ce week-end.",
        sender_id="FLEURS",
        category=category,
        list_ids=[contact_list.pk],
    )
    campaign_launch(org=tenant.org, actor=tenant.owner, campaign=campaign)  # enqueued on commit
    return campaign


def test_a_marketing_campaign_of_1000_sends_the_allowed_once_defers_and_blocks_the_others(tenant_a, scale):
    server, env, log = scale
    env["TEST_CAMPAIGN_BATCH_SIZE"] = "200"
    now = datetime.now(UTC)
    open_t, closed_t = territories(now)
    org = _marketing_org(tenant_a, credits=3000)
    contact_list, groups = audience(
        tenant_a,
        {
            "allowed": (open_t, 700, "opt_in"),
            "soft": (open_t, 50, "soft_opt_in"),
            "opted_out": (open_t, 100, "opt_in"),
            "no_consent": (open_t, 50, "unknown"),
            "night": (closed_t, 100, "opt_in"),
        },
    )
    opt_out(org, groups["opted_out"])
    allowed = groups["allowed"] + groups["soft"]
    balance_before = credits_balance(org)
    worker = _start_worker(env, log)
    try:
        campaign = _launch(tenant_a, contact_list)
        launched = Campaign.objects.get(pk=campaign.pk).launched_at
        open_rows = Message.objects.filter(campaign=campaign, status__in=("pending", "sending"))
        _wait(lambda: not open_rows.exists(), 90, "every message decided", worker)

        # The gateway got exactly the allowed numbers, once each.
        assert gateway_counts(server) == {c.phone: 1 for c in allowed}
        assert statuses(campaign) == {"sent": 750, "blocked": 150, "deferred": 100}
        # Deferred until the next opening of their window, with the reason.
        expected = next_opening(closed_t.zone, launched)
        night = Message.objects.filter(campaign=campaign, contact__in=groups["night"])
        assert {(m.status, m.deferred_until) for m in night} == {("deferred", expected)}
        assert all(m.reasons and m.reasons[0]["code"] == OUTSIDE_WINDOW for m in night)
        # Blocked with the reason, and never sent.
        blocked = dict(
            Message.objects.filter(campaign=campaign, status="blocked")
            .values_list("contact_id", "block_reason")
            .order_by()
        )
        assert blocked == {
            **{c.pk: SUPPRESSED for c in groups["opted_out"]},
            **{c.pk: NO_CONSENT for c in groups["no_consent"]},
        }
        assert not Message.objects.filter(
            campaign=campaign, status="blocked", provider_id__isnull=False
        ).exists()

        # The deferred ones wait for the morning; cancel the rest of the campaign to settle its credits:
        # spent = the segments actually sent (times their region's price), nothing left reserved.
        campaign_cancel(org=org, actor=tenant_a.owner, campaign=campaign)
        campaign.refresh_from_db()
        sent_credits = Message.objects.filter(campaign=campaign, status="sent").aggregate(t=Sum("credits"))[
            "t"
        ]
        assert campaign.settled_at is not None
        assert campaign.credits_spent == spent_by_segments(campaign) == sent_credits
        assert credits_reserved(org) == 0
        assert credits_balance(org) == balance_before - campaign.credits_spent == credits_ledger_sum(org)
    except AssertionError:
        print(log.read_text()[-5000:])
        raise
    finally:
        _stop(worker)


def test_a_worker_killed_in_the_middle_of_5000_loses_nothing_and_sends_nothing_twice(tenant_a, scale):
    server, env, log = scale
    env["TEST_CAMPAIGN_BATCH_SIZE"] = "500"
    open_t, _ = territories(datetime.now(UTC))
    org = _marketing_org(tenant_a, credits=6000)
    contact_list, groups = audience(
        tenant_a, {"allowed": (open_t, 4750, "opt_in"), "opted_out": (open_t, 250, "opt_in")}
    )
    opt_out(org, groups["opted_out"])
    allowed = groups["allowed"]
    balance_before = credits_balance(org)
    # Each batch's gateway call lasts a second, the gateway recording the batch at its start: the kill
    # lands while a batch is accepted by the gateway but its answer not yet recorded, the hardest case.
    server.control({"response_delay": 1.0})
    worker = _start_worker(env, log)
    try:
        campaign = _launch(tenant_a, contact_list)
        in_flight = Message.objects.filter(campaign=campaign, status="sending")
        _wait(
            lambda: len(server.messages()) >= 1500 and in_flight.exists(),
            90,
            "a third sent, a batch in flight",
            worker,
        )
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert len(server.messages()) < len(allowed), "the worker finished before it could be killed"
        stuck = set(in_flight.values_list("id", flat=True))
        assert stuck and {str(pk) for pk in stuck} <= {m["client_ref"] for m in server.messages()}
        server.control({"response_delay": 0})
        # What beat does once the claims are old enough: ask the gateway about rows stuck in ``sending``
        # (those are at the gateway: confirmed, not sent again) and re-queue the pending rows whose tasks
        # died with the worker.
        counts = pipeline.messages_reconcile(now=datetime.now(UTC) + timedelta(hours=1), limit=10_000)
        assert counts["unreachable"] == 0
        assert counts["stuck"] == counts["confirmed_sent"] == len(stuck) and counts["requeued"] == 0
        assert counts["stale_pending"] > 0
        worker = _start_worker(env, log)
        settle_until_completed(campaign, worker, 120)

        assert gateway_counts(server) == {c.phone: 1 for c in allowed}
        assert statuses(campaign) == {"sent": 4750, "blocked": 250}
        # Each message's provider id is the one the gateway gave for it (its client reference).
        at_gateway = {row["client_ref"]: row["id"] for row in server.messages()}
        assert (
            dict(
                (str(pk), pid)
                for pk, pid in Message.objects.filter(campaign=campaign, status="sent").values_list(
                    "id", "provider_id"
                )
            )
            == at_gateway
        )
        campaign.refresh_from_db()
        assert campaign.credits_spent == spent_by_segments(campaign)
        assert credits_reserved(org) == 0
        assert credits_balance(org) == balance_before - campaign.credits_spent == credits_ledger_sum(org)
    except AssertionError:
        print(log.read_text()[-5000:])
        raise
    finally:
        _stop(worker)


def test_a_gateway_that_times_out_after_accepting_a_batch_still_sends_each_message_once(tenant_a, scale):
    """The first batch is recorded by the gateway, which then answers after the client's read timeout
    (30 s): the worker sees a network error and puts the batch back to ``pending`` for a retry; the retry
    asks the gateway by client reference before sending, finds the batch there and sends nothing again."""
    server, env, log = scale
    env["TEST_CAMPAIGN_BATCH_SIZE"] = "100"
    open_t, _ = territories(datetime.now(UTC))
    org = _marketing_org(tenant_a, credits=1000)
    contact_list, groups = audience(tenant_a, {"allowed": (open_t, 400, "opt_in")})
    allowed = groups["allowed"]
    balance_before = credits_balance(org)
    server.control({"response_delay": 31})
    worker = _start_worker(env, log)
    try:
        campaign = _launch(tenant_a, contact_list)
        _wait(lambda: len(server.messages()) >= 100, 60, "the first batch accepted", worker)
        server.control({"response_delay": 0})  # only the first answer is lost
        retried = Message.objects.filter(
            campaign=campaign, status="pending", attempts=1, error_code="network_error"
        )
        _wait(lambda: retried.count() == 100, 60, "the timed-out batch put back for a retry", worker)
        # The retry waits for its backoff (30 s); beat's reconciliation re-queues it sooner.
        pipeline.messages_reconcile(now=datetime.now(UTC) + timedelta(hours=1))
        settle_until_completed(campaign, worker, 90)

        assert gateway_counts(server) == {c.phone: 1 for c in allowed}
        assert statuses(campaign) == {"sent": 400}
        at_gateway = {row["client_ref"]: row["id"] for row in server.messages()}
        sent = Message.objects.filter(campaign=campaign).values_list("id", "provider_id", "attempts")
        assert {str(pk): pid for pk, pid, _ in sent} == at_gateway
        assert sorted(attempts for _, _, attempts in sent).count(2) == 100  # the timed-out batch
        campaign.refresh_from_db()
        assert campaign.credits_spent == spent_by_segments(campaign)
        assert credits_reserved(org) == 0
        assert credits_balance(org) == balance_before - campaign.credits_spent == credits_ledger_sum(org)
    except AssertionError:
        print(log.read_text()[-5000:])
        raise
    finally:
        _stop(worker)
