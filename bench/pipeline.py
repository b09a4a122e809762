"""Sending pipeline throughput, end to end, beside the naive design measured in the same run.

    python bench/pipeline.py [--recipients 100000] [--naive 5000] [--rate-messages 2000] [--rate 100]

What it runs, on PostgreSQL (``DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/bench_pipeline``,
created, flushed and migrated by the benchmark) and Redis (``REDIS_URL``, default
``redis://127.0.0.1:6379/13``, flushed: use a database nobody else uses):

* one Celery worker subprocess, ``celery worker --concurrency=2`` (two processes);
* the loopback gateway server (``LoopbackServer``) in a thread of this process, no artificial delay;
* **pipeline**: a marketing campaign of ``--recipients`` (100,000) contacts, 5% opted out (STOP) and 10%
  outside their sending window at the moment of the run, launched with ``campaign_launch``; measured:
  from the call to ``campaign_launch`` to the last allowed message accepted by the loopback gateway
  (its own ``received_at`` clock), in allowed messages per second;
* **naive** (a baseline, written below in this file and used nowhere else): the same audience mix on
  ``--naive`` (5,000) contacts, one ``Message.save()`` per recipient, one Celery task per message, one
  credit debit per message, one gateway call per message; the same measure;
* **rate limit**: ``SMS_GATEWAY_RATE_LIMITS = {"loopback": --rate}`` (100/s; the worker takes it from
  ``LOOPBACK_RATE_PER_SECOND``) on a transactional campaign of ``--rate-messages`` (2,000) messages: what
  the gateway sees per one-second window (the mean, the busiest fixed second and the busiest sliding
  window of one second).

Out of window, deterministically whatever the day and hour of the run: the organisation uses the rule
pack ``FR_AF2M_2026`` (every day 08:00-21:30 in the recipient's local time, Sundays and holidays
"discouraged" but allowed), so only the recipient's local hour decides. At start-up the benchmark picks,
from French territories (metropolitan France, Guadeloupe, Reunion, New Caledonia...), one where it is
between 09:00 and 20:30 now (the allowed 85%) and one where it is between 22:00 and 07:00 (the deferred
10%): the margins cover the length of the run. Numbers are synthetic; like the contacts module does on
import, each contact stores the region, time zone and holiday calendar of its territory.

It prints figures and the targets beside them (>= 5,000 messages/s end to end, >= 20x the naive design,
the limited rate within 5% of the limit and never above it in any one-second window); it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from celery import shared_task

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_pipeline"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SECRET = "bench-pipeline-webhook-secret"
SECRET_KEY = "bench-pipeline-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
PACK = "FR_AF2M_2026"
BODY = "Fleurs de Lys : -20% sur les roses ce week-end avec le code ROSE20."
READY_KEY = "bench:pipeline:worker-ready"
RUNNING_KEY = "bench:pipeline:running"

# (region, number prefix, digits after it, IANA zone, holiday calendar), as recipient_context() gives them.
TERRITORIES = [
    ("FR", "+3361", 7, "Europe/Paris", "FR"),
    ("GP", "+590690", 6, "America/Guadeloupe", "FR-971+BL+MF"),
    ("GF", "+594694", 6, "America/Cayenne", "FR-973"),
    ("RE", "+262692", 6, "Indian/Reunion", "FR-974"),
    ("YT", "+262639", 6, "Indian/Mayotte", "FR-976"),
    ("NC", "+6877", 7, "Pacific/Noumea", "NC"),
    ("WF", "+68182", 7, "Pacific/Wallis", "WF"),
]


def _minutes(zone: str, at: datetime) -> int:
    local = at.astimezone(ZoneInfo(zone))
    return local.hour * 60 + local.minute


def pick_territories(at: datetime, hold: timedelta = timedelta(minutes=30)):
    """(open territory, closed territory) for ``PACK`` at ``at``, each staying so for ``hold`` at least:
    open = local time in [09:00, 20:30), closed = local time in [22:00, 07:00) (08:00-21:30 windows)."""

    def open_(zone: str) -> bool:
        return all(9 * 60 <= _minutes(zone, t) < 20 * 60 + 30 for t in (at, at + hold))

    def closed(zone: str) -> bool:
        return all(_minutes(zone, t) >= 22 * 60 or _minutes(zone, t) < 7 * 60 for t in (at, at + hold))

    opened = [t for t in TERRITORIES if open_(t[3])]
    shut = [t for t in TERRITORIES if closed(t[3])]
    if not opened or not shut:
        raise SystemExit(f"no open/closed territory pair at {at.isoformat()} (a gap in TERRITORIES)")
    return opened[0], shut[0]


def say(text: str = "") -> None:
    print(text, flush=True)


# --- the naive design: a baseline, NOT how the product sends ----------------------------------------
# One Message.save() per recipient at launch, one Celery task per message, in each task: the gate for one
# message (its suppression and frequency queries), one credit debit, one gateway call, one save().


@shared_task(name="bench.naive_send_one", ignore_result=True)
def naive_send_one(message_id: int) -> None:
    """NAIVE BASELINE: sends one message, the way the pipeline must not."""
    from django.utils import timezone

    from billing.services import credits_debit
    from campaigns.gateways import OutboundSms, get_gateway
    from campaigns.models import Message
    from campaigns.pipeline import _context_of
    from campaigns.selectors import marketing_counts
    from compliance.checker import org_policy
    from compliance.gate import ALLOW, BLOCK, GateItem, evaluate
    from compliance.selectors import suppressed_numbers

    now = timezone.now()
    message = Message.objects.select_related("org", "contact").get(pk=message_id)
    if message.status != "pending":
        return
    org, contact = message.org, message.contact
    d1, d7 = marketing_counts(org, [contact.pk], now).get(contact.pk, (0, 0))
    item = GateItem(
        context=_context_of(
            {
                "to": message.to,
                "contact__region": contact.region,
                "contact__timezone": contact.timezone,
                "contact__calendar": contact.calendar,
                "contact__postal_code": contact.postal_code,
            }
        ),
        policy=org_policy(org),
        category=message.category,
        consent=contact.consent_basis,
        suppressed=bool(suppressed_numbers(org, [message.to])),
        sent_last_24h=d1,
        sent_last_7d=d7,
    )
    decision = evaluate([item], now)[0]
    if decision.outcome == ALLOW:
        credits_debit(org=org, amount=message.credits, reference=f"naive:{message.pk}")
        result = get_gateway().send_batch(
            [OutboundSms(str(message.pk), message.to, message.sender, message.body)]
        )[0]
        message.status = "sent" if result.accepted else "failed"
        message.provider_id = result.provider_id
        message.claimed_at = message.sent_at = now
    elif decision.outcome == BLOCK:
        message.status, message.block_reason = "blocked", decision.reason
    else:
        message.status, message.deferred_until = "deferred", decision.next_allowed_at
    message.save()


def naive_launch(org, campaign, contacts) -> None:
    """NAIVE BASELINE: one save() per message, then one task per message."""
    from django.db import transaction

    from campaigns.models import Message
    from campaigns.rendering import prepare_body, render_for

    template = prepare_body(campaign.body, marketing=True, stop_mention=org.stop_mention)
    ids = []
    with transaction.atomic():
        for contact in contacts:
            rendered = render_for(template, {"first_name": contact.first_name}, smart=False)
            message = Message(
                org=org,
                campaign=campaign,
                contact=contact,
                category="marketing",
                to=contact.phone,
                sender=bench_sender(org),
                body=rendered.body,
                encoding=rendered.encoding,
                segments=rendered.segments,
                credits=rendered.segments,
            )
            message.save()
            ids.append(message.pk)
    for pk in ids:
        naive_send_one.delay(pk)


@shared_task(name="bench.ready", ignore_result=True)
def worker_ready() -> None:
    """Tells the benchmark that a worker process consumes tasks."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).incr(READY_KEY)


# --- set-up ------------------------------------------------------------------------------------------


def _prepare_environment() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("bench/pipeline.py needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/db")
    name = parts.path.lstrip("/") or "bench_pipeline"
    # Here, not at the top: the benchmark's worker imports this module as bench.pipeline, where the
    # script's sibling _postgres is not importable (and it does not need it).
    from _postgres import ensure_database

    ensure_database(url, name)
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    os.environ.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or SECRET_KEY,
        DJANGO_SETTINGS_MODULE="smsplatform.settings",
        SMS_GATEWAY="loopback",
        GATEWAY_WEBHOOK_SECRET=SECRET,
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    return url, redis_url


class Worker:
    """``celery worker --concurrency=2`` in a subprocess, with this file's naive task included."""

    def __init__(self, gateway_url: str, rate: float, log: Path) -> None:
        self.env = {**os.environ, "LOOPBACK_GATEWAY_URL": gateway_url, "LOOPBACK_RATE_PER_SECOND": str(rate)}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, redis_client) -> Worker:
        redis_client.delete(READY_KEY)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smsplatform",
                "worker",
                "--concurrency=2",
                "--pool=prefork",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--include=bench.pipeline",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        worker_ready.delay()
        worker_ready.delay()
        deadline = time.monotonic() + 60
        while int(redis_client.get(READY_KEY) or 0) < 2:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the worker did not start; see {self.log}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def bench_sender(org) -> str:
    """A sender ID of this organisation's own: a name is held by one organisation, and every run of the
    benchmark creates new ones (the sandbox registers a free name on first use)."""
    return f"BENCH{org.pk}"


def make_org(name: str, credits: int):
    from billing.services import credits_grant
    from compliance.services import sending_rules_update
    from smsplatform.onboarding import signup

    stamp = f"{time.time_ns()}"
    owner, org = signup(email=f"bench-{stamp}@example.com", password="Bench-password-1", org_name=name)
    sending_rules_update(org=org, actor=owner, rule_pack=PACK, restrictions={})
    org.refresh_from_db()
    credits_grant(org=org, amount=credits, reference="bench")
    return owner, org


def make_audience(org, n: int, open_t, closed_t, *, offset: int):
    """``n`` opt-in contacts in one list: 10% in the closed territory, 5% opted out (STOP), the rest open.
    Bulk inserts: generating the data is not what is measured."""
    from compliance.models import Suppression, SuppressionSource, phone_hash
    from contacts.models import Contact, ContactList, ListMembership

    contact_list = ContactList.objects.create(org=org, name=f"Bench {offset}")
    contacts, suppressed = [], []
    for i in range(n):
        region, prefix, digits, zone, calendar = closed_t if i % 10 == 3 else open_t
        phone = f"{prefix}{offset + i:0{digits}d}"
        contacts.append(
            Contact(
                org=org,
                phone=phone,
                first_name=f"Client{i}",
                consent_basis="opt_in",
                consent_source="manual",
                region=region,
                timezone=zone,
                calendar=calendar,
            )
        )
        if i % 20 == 7:  # 5%, all in the open territory (i % 10 == 7)
            suppressed.append(
                Suppression(
                    org=org,
                    phone_hash=phone_hash(phone),
                    phone_e164=phone,
                    source=SuppressionSource.INBOUND_KEYWORD,
                    reason="keyword",
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=5000)
    contacts = list(Contact.objects.filter(org=org).order_by("id"))
    ListMembership.objects.bulk_create(
        [ListMembership(org=org, contact_list=contact_list, contact=c) for c in contacts], batch_size=5000
    )
    Suppression.objects.bulk_create(suppressed, batch_size=5000)
    Contact.objects.filter(org=org, phone__in=[s.phone_e164 for s in suppressed]).update(opted_out=True)
    analyze()
    allowed = n - len(suppressed) - sum(1 for i in range(n) if i % 10 == 3)
    return contact_list, contacts, allowed


def analyze() -> None:
    """Table statistics after a bulk load, as autovacuum gives them a moment later. Without them (the
    flushed database says "empty tables") the planner picks a nested loop for the audience query of the
    launch, quadratic in the audience: minutes instead of a second."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "contacts_contact",
            "contacts_listmembership",
            "compliance_suppression",
            "campaigns_message",
        ):
            cursor.execute(f"ANALYZE {table}")


def _parse(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def wait_for_messages(server, expected: int, timeout: float, worker: Worker) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        with server._lock:  # a count, without copying 100,000 records each time
            count = len(server._messages)
        if count >= expected:
            return server.messages()
        if time.monotonic() > deadline or worker.process.poll() is not None:
            raise SystemExit(f"only {count} of {expected} messages reached the gateway; see {worker.log}")
        time.sleep(0.05)


# --- the three measures ------------------------------------------------------------------------------


def run_pipeline(server, worker, n: int, open_t, closed_t) -> dict:
    from django.db.models import Count

    from campaigns.models import Message
    from campaigns.services import campaign_create, campaign_launch

    owner, org = make_org("Bench pipeline", credits=n * 2)
    contact_list, _, allowed = make_audience(org, n, open_t, closed_t, offset=0)
    campaign = campaign_create(
        org=org, actor=owner, name="Bench", body=BODY, sender_id=bench_sender(org), list_ids=[contact_list.pk]
    )
    server.clear()
    start = time.time()
    campaign_launch(org=org, actor=owner, campaign=campaign)
    launched = time.time()
    rows = wait_for_messages(server, allowed, 600, worker)
    last = max(_parse(r["received_at"]) for r in rows)
    first = min(_parse(r["received_at"]) for r in rows)
    time.sleep(0.5)
    counts = dict(
        Message.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")).order_by()
    )
    return {
        "recipients": n,
        "allowed": allowed,
        "received": len(rows),
        "distinct": len({r["client_ref"] for r in rows}),
        "launch_s": launched - start,
        "first_s": first - start,
        "total_s": last - start,
        "rate": allowed / (last - start),
        "statuses": counts,
    }


def run_naive(server, worker, n: int, open_t, closed_t) -> dict:
    from campaigns.services import campaign_create

    owner, org = make_org("Bench naive", credits=n * 2)
    contact_list, contacts, allowed = make_audience(org, n, open_t, closed_t, offset=500_000)
    campaign = campaign_create(
        org=org, actor=owner, name="Naive", body=BODY, sender_id=bench_sender(org), list_ids=[contact_list.pk]
    )
    server.clear()
    start = time.time()
    naive_launch(org, campaign, contacts)
    rows = wait_for_messages(server, allowed, 1200, worker)
    last = max(_parse(r["received_at"]) for r in rows)
    return {"recipients": n, "allowed": allowed, "received": len(rows), "total_s": last - start,
            "rate": allowed / (last - start)}  # fmt: skip


def run_rate_limited(server, worker, n: int, limit: float) -> dict:
    from campaigns.gateways.ratelimit import reset
    from campaigns.services import campaign_create, campaign_launch, campaign_transactional_approve
    from contacts.models import Contact, ContactList, ListMembership

    owner, org = make_org("Bench rate", credits=n * 4)
    contact_list = ContactList.objects.create(org=org, name="Rate")
    Contact.objects.bulk_create(
        [
            Contact(
                org=org,
                phone=f"+3362{i:07d}",
                first_name="R",
                consent_basis="opt_in",
                region="FR",
                timezone="Europe/Paris",
                calendar="FR",
            )
            for i in range(n)
        ]
    )
    ListMembership.objects.bulk_create(
        [
            ListMembership(org=org, contact_list=contact_list, contact=c)
            for c in Contact.objects.filter(org=org)
        ]
    )
    analyze()
    campaign = campaign_create(
        org=org,
        actor=owner,
        name="Rate",
        body="Votre commande est disponible.",
        sender_id=bench_sender(org),
        category="transactional",
        list_ids=[contact_list.pk],
    )
    # A bulk transactional campaign launches once the operator approved it (the security rule).
    campaign = campaign_transactional_approve(campaign=campaign, actor=owner)
    reset("loopback")
    server.clear()
    campaign_launch(org=org, actor=owner, campaign=campaign)
    rows = wait_for_messages(server, n, n / limit * 3 + 60, worker)
    times = sorted(_parse(r["received_at"]) for r in rows)
    per_second: dict[int, int] = {}
    for t in times:
        per_second[int(t)] = per_second.get(int(t), 0) + 1
    # Whole seconds only: the first and last are partial.
    full = [c for s, c in per_second.items() if min(per_second) < s < max(per_second)]
    sliding, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        sliding = max(sliding, i - j + 1)
    span = times[-1] - times[0]
    return {
        "messages": len(rows),
        "mean": (len(times) - 1) / span if span else float("inf"),
        "max_fixed": max(full) if full else max(per_second.values()),
        "sliding": sliding,
        "span": span,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000)
    parser.add_argument("--rate-messages", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--skip", choices=("pipeline", "naive", "rate"), action="append", default=[])
    args = parser.parse_args()

    db_url, redis_url = _prepare_environment()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from campaigns.gateways.base import reset_gateways
    from campaigns.gateways.loopback_server import LoopbackServer

    say(f"database {db_url}, broker {redis_url}")
    redis_client = redis.Redis.from_url(redis_url)
    # Two runs at once would flush each other's data and consume each other's tasks.
    if redis_client.exists(RUNNING_KEY):
        raise SystemExit(f"another bench/pipeline.py runs on {redis_url} (delete {RUNNING_KEY} if not)")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    redis_client.flushdb()
    redis_client.set(RUNNING_KEY, os.getpid(), ex=3600)

    now = datetime.now(UTC)
    open_t, closed_t = pick_territories(now, hold=timedelta(minutes=45))
    say(
        f"now {now:%a %Y-%m-%d %H:%M} UTC, pack {PACK}: open in {open_t[0]} "
        f"({now.astimezone(ZoneInfo(open_t[3])):%H:%M} local), closed in {closed_t[0]} "
        f"({now.astimezone(ZoneInfo(closed_t[3])):%H:%M} local)"
    )
    server = LoopbackServer(port=0, receipt_delay=24 * 3600, secret=SECRET).start()
    from django.conf import settings

    settings.LOOPBACK_GATEWAY_URL = server.url
    settings.SMS_GATEWAY_RATE_LIMITS = {}
    reset_gateways()
    log = ROOT / "var" / "bench_pipeline_worker.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("")
    results: dict[str, dict] = {}
    try:
        worker = Worker(server.url, rate=0, log=log).start(redis_client)
        try:
            if "pipeline" not in args.skip:
                say(f"pipeline: {args.recipients:,} recipients...")
                results["pipeline"] = run_pipeline(server, worker, args.recipients, open_t, closed_t)
            if "naive" not in args.skip:
                say(f"naive: {args.naive:,} recipients...")
                results["naive"] = run_naive(server, worker, args.naive, open_t, closed_t)
        finally:
            worker.stop()
        if "rate" not in args.skip:
            say(f"rate limit {args.rate:g}/s: {args.rate_messages:,} messages...")
            settings.SMS_GATEWAY_RATE_LIMITS = {"loopback": args.rate}
            worker = Worker(server.url, rate=args.rate, log=log).start(redis_client)
            try:
                results["rate"] = run_rate_limited(server, worker, args.rate_messages, args.rate)
            finally:
                worker.stop()
    finally:
        server.stop()
        redis_client.delete(RUNNING_KEY)
    report(results, args)


def report(results: dict[str, dict], args) -> None:
    say()
    p, nv, r = results.get("pipeline"), results.get("naive"), results.get("rate")
    if p:
        say(
            f"pipeline  {p['recipients']:>7,} recipients, {p['allowed']:,} allowed, {p['received']:,} accepted "
            f"by the gateway ({p['distinct']:,} distinct)"
        )
        say(
            f"          launch {p['launch_s']:.2f} s, first accepted at {p['first_s']:.2f} s, last at "
            f"{p['total_s']:.2f} s: {p['rate']:,.0f} messages/s end to end   (target >= 5,000)"
        )
        say(f"          statuses {p['statuses']}")
    if nv:
        say(
            f"naive     {nv['recipients']:>7,} recipients, {nv['allowed']:,} allowed, last accepted at "
            f"{nv['total_s']:.2f} s: {nv['rate']:,.0f} messages/s"
        )
    if p and nv:
        say(f"ratio     {p['rate'] / nv['rate']:.1f}x the naive design per message   (target >= 20x)")
    if r:
        limit = args.rate
        say(
            f"rate      limit {limit:g}/s, {r['messages']:,} messages over {r['span']:.1f} s: mean "
            f"{r['mean']:.1f}/s ({(r['mean'] / limit - 1) * 100:+.1f}%, target within 5%), busiest whole "
            f"second {r['max_fixed']}, busiest sliding 1 s window {r['sliding']}   (target <= {limit:g})"
        )


if __name__ == "__main__":
    main()
