"""Campaign report and dashboard response times on a large PostgreSQL database, beside a raw indexed
GROUP BY over the same message rows, measured in the same run.

    python bench/reports.py [--rows 10000000] [--orgs 100] [--big 1000000] [--repeat 40] [--regenerate]

Data goes to a dedicated database (``bench_reports`` on the server of ``DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/``), created and migrated when missing, generated with
``INSERT ... SELECT generate_series`` and kept between runs (``--regenerate`` starts again). It prints
figures; it asserts nothing (targets: p95 under 200 ms and at most 2x the raw GROUP BY).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta

from _postgres import insert_select as insert_rows
from _postgres import use_database, vacuum_analyze

DB_NAME = "bench_reports"
URL = use_database(DB_NAME, "bench/reports.py")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.ALLOWED_HOSTS = ["*"]
settings.API_RATE_LIMIT = "1000000/min"


def say(text: str) -> None:
    print(text, flush=True)


# --- generation ------------------------------------------------------------------------------------


def insert_select(model, count: int, overrides: dict[str, str], series="g") -> None:
    """``INSERT INTO <table> SELECT ... FROM generate_series(1, count) g`` (see _postgres.insert_select)."""
    insert_rows(model, overrides, f"generate_series(1, {int(count)}) AS {series}")


def generate(rows: int, orgs: int, big: int) -> None:
    started = time.perf_counter()
    _clear()
    org_ids = _organisations(orgs)
    say(f"  {orgs} organisations: {time.perf_counter() - started:.1f} s")
    plan = _plan(org_ids, rows, big)
    _contacts(org_ids, plan)
    big_campaign_id = _campaigns(plan, rows)
    _squash_counters()
    say(f"  VACUUM ANALYZE: {vacuum_analyze():.1f} s")
    say(f"  generation total: {time.perf_counter() - started:.1f} s")
    _summary(big_campaign_id)


def _clear() -> None:
    from smsplatform.models import Organisation, User

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE campaigns_message, campaigns_inboundmessage, analytics_click, analytics_linkcode, "
            "analytics_trackedlink, analytics_messagecount, analytics_clickcount, analytics_optout, "
            "contacts_contact, campaigns_campaign CASCADE"
        )
    Organisation.objects.filter(name__startswith="Bench ").delete()
    User.objects.filter(email__startswith="bench", email__endswith="@example.com").delete()


def _organisations(orgs: int) -> list[int]:
    from smsplatform.onboarding import signup

    org_ids = []
    for i in range(orgs):
        _user, org = signup(
            email=f"bench{i}@example.com",
            password="Long-enough-pw-1",
            org_name=f"Bench {i:03d}",
            country="FR",
        )
        org_ids.append(org.pk)
    return org_ids


def _plan(org_ids: list[int], rows: int, big: int) -> list[tuple[int, int]]:
    """The campaigns to generate as (org, messages): the big campaign first, then campaigns of at most
    20,000 messages sharing the other rows equally between the organisations."""
    big = min(big, rows // 2)
    per_org = (rows - big) // len(org_ids)
    campaign_size = 20_000
    plan: list[tuple[int, int]] = [(org_ids[0], big)]
    for org_id in org_ids:
        left = per_org
        while left > 0:
            size = min(campaign_size, left)
            plan.append((org_id, size))
            left -= size
    return plan


def _contacts(org_ids: list[int], plan: list[tuple[int, int]]) -> None:
    """Enough contacts per organisation for its largest campaign (at least 1,000)."""
    from contacts.models import Contact

    largest = {org_ids[0]: plan[0][1]}
    for org_id, size in plan[1:]:
        largest[org_id] = max(largest.get(org_id, 0), size)
    t = time.perf_counter()
    for org_id in org_ids:
        n = max(largest.get(org_id, 0), 1000)
        insert_select(
            Contact,
            n,
            {
                "org_id": str(org_id),
                "phone": f"'+1' || lpad('{org_id}', 4, '0') || lpad(g::text, 8, '0')",
                "first_name": "'Client' || g",
                "consent_basis": "'opt_in'",
                "created_at": "now() - (g % 90) * interval '1 day'",
                "updated_at": "now()",
            },
        )
    contacts = Contact.objects.count()
    say(f"  {contacts:,} contacts: {time.perf_counter() - t:.1f} s")


def _campaigns(plan: list[tuple[int, int]], rows: int) -> int | None:
    """The campaigns of the plan with their messages, clicks and opt-outs; returns the big one's id."""
    from campaigns.models import Campaign
    from contacts.models import Contact

    t = time.perf_counter()
    first_contact = dict(
        Contact.objects.values("org_id").annotate(first=models.Min("id")).values_list("org_id", "first")
    )
    done = 0
    big_campaign_id = None
    for index, (org_id, size) in enumerate(plan):
        day = index % 28
        campaign = Campaign.objects.create(
            org_id=org_id, name=f"Campagne {index}", body="Soldes https://shop.example/x", status="completed",
            recipients=size, launched_at=timezone.now() - timedelta(days=day, hours=1),
        )  # fmt: skip
        if big_campaign_id is None:
            big_campaign_id = campaign.pk
        _messages(campaign, size, day, first_contact[org_id])
        _clicks_and_stops(campaign)
        done += size
        if index == 0 or index % 50 == 0:
            elapsed = time.perf_counter() - t
            say(
                f"  messages: {done:,} / {rows:,} ({elapsed:.0f} s, {done / max(elapsed, 0.001):,.0f} rows/s)"
            )
    generation = time.perf_counter() - t
    say(f"  {done:,} messages in {len(plan)} campaigns: {generation:.1f} s ({done / generation:,.0f} rows/s)")
    return big_campaign_id


def _messages(campaign, size: int, day: int, first_contact_id: int) -> None:
    from campaigns.models import Message

    org_id = campaign.org_id
    # Statuses: 85% delivered, 5% sent, 3% undelivered, 1% failed, 4% blocked, 2% deferred.
    status = (
        "CASE WHEN g % 100 < 85 THEN 'delivered' WHEN g % 100 < 90 THEN 'sent' WHEN g % 100 < 93 THEN "
        "'undelivered' WHEN g % 100 < 94 THEN 'failed' WHEN g % 100 < 98 THEN 'blocked' ELSE 'deferred' END"
    )
    sent_at = (
        f"CASE WHEN g % 100 < 93 THEN now() - interval '{day} days' - (g % 3600) * interval '1 second' END"
    )
    insert_select(
        Message,
        size,
        {
            "org_id": str(org_id),
            "campaign_id": str(campaign.pk),
            "contact_id": f"{first_contact_id} + g - 1",
            "to": f"'+1' || lpad('{org_id}', 4, '0') || lpad(g::text, 8, '0')",
            "body": "'Soldes -20% https://sms.example/r/abcdefgh STOP 36111'",
            "credits": "1",
            "status": status,
            "sent_at": sent_at,
            "delivered_at": f"CASE WHEN g % 100 < 85 THEN now() - interval '{day} days' - (g % 3600) * interval '1 second' + interval '20 seconds' END",
            "block_reason": "CASE WHEN g % 100 BETWEEN 94 AND 97 THEN (ARRAY['suppressed','no_consent','frequency_cap'])[1 + g % 3] ELSE '' END",
            "reasons": 'CASE WHEN g % 100 >= 98 THEN \'[{"code": "outside_window", "fr": "", "en": ""}]\'::jsonb ELSE \'[]\'::jsonb END',
            "provider_id": f"'p{campaign.pk}-' || g",
            "gateway": "'loopback'",
            "created_at": f"now() - interval '{day} days'",
        },
    )


def _clicks_and_stops(campaign) -> None:
    from analytics.models import TrackedLink

    link = TrackedLink.objects.create(
        org_id=campaign.org_id, campaign_id=campaign.pk, url="https://shop.example/x"
    )
    # 8% of the delivered messages were clicked, some twice.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_linkcode (org_id, link_id, message_id, campaign_id, contact_id, code) "
            "SELECT org_id, %s, id, campaign_id, contact_id, substr(md5(id::text), 1, 10) FROM campaigns_message "
            "WHERE campaign_id = %s AND status = 'delivered' AND id %% 12 = 0",
            [link.pk, campaign.pk],
        )
        cursor.execute(
            "INSERT INTO analytics_click (org_id, link_id, code_id, message_id, campaign_id, contact_id, at, "
            "user_agent_class, ip_hash) SELECT c.org_id, c.link_id, c.id, c.message_id, c.campaign_id, "
            "c.contact_id, m.delivered_at + interval '5 minutes' * k, 'mobile', '' FROM analytics_linkcode c "
            "JOIN campaigns_message m ON m.id = c.message_id CROSS JOIN generate_series(1, 2) k "
            "WHERE c.link_id = %s AND (k = 1 OR c.message_id %% 5 = 0)",
            [link.pk],
        )
        # What click_record writes beside each click: the first-click flag and the counts per hour.
        cursor.execute(
            "UPDATE analytics_linkcode c SET first_clicked_at = f.at FROM (SELECT code_id, min(at) AS at "
            "FROM analytics_click WHERE link_id = %s GROUP BY code_id) f WHERE c.id = f.code_id",
            [link.pk],
        )
        cursor.execute(
            "INSERT INTO analytics_clickcount (org_id, campaign_id, bucket, clicks, unique_clicks, is_squashed) "
            "SELECT org_id, campaign_id, b, count(*), sum(first), true FROM (SELECT org_id, campaign_id, "
            "date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS b, CASE WHEN row_number() OVER "
            "(PARTITION BY code_id ORDER BY at, id) = 1 THEN 1 ELSE 0 END AS first FROM analytics_click "
            "WHERE link_id = %s) t GROUP BY 1, 2, 3",
            [link.pk],
        )
        # 0.5% of the recipients answered STOP an hour later (the trigger attributes each one).
        cursor.execute(
            'INSERT INTO campaigns_inboundmessage (org_id, gateway, provider_id, from_number, "to", text, kind, '
            "contact_id, needs_review, received_at) SELECT org_id, 'loopback', 'in-' || id, \"to\", '', 'STOP', "
            "'opt_out', contact_id, false, sent_at + interval '1 hour' FROM campaigns_message "
            "WHERE campaign_id = %s AND sent_at IS NOT NULL AND id %% 200 = 0",
            [campaign.pk],
        )


def _squash_counters() -> None:
    from analytics.services import message_counts_squash

    t = time.perf_counter()
    total = {"rows_in": 0, "rows_out": 0}
    while True:
        result = message_counts_squash(max_campaigns=1000)
        if not result["campaigns"]:
            break
        total["rows_in"] += result["rows_in"]
        total["rows_out"] += result["rows_out"]
    say(
        f"  squash of the counters: {total['rows_in']:,} rows -> {total['rows_out']:,} in {time.perf_counter() - t:.1f} s"
    )


def _summary(big_campaign_id: int | None) -> None:
    from campaigns.models import InboundMessage

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_click")
        clicks = cursor.fetchone()[0]
    say(
        f"  {clicks:,} clicks, {InboundMessage.objects.count():,} opt-outs, big campaign id {big_campaign_id}"
    )


# --- measurement -----------------------------------------------------------------------------------


def timed(func, repeat: int) -> list[float]:
    func()  # warm-up (connection, caches, plans)
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def line(label: str, samples: list[float]) -> float:
    say(f"  {label:<52} p50 {statistics.median(samples):8.1f} ms   p95 {p95(samples):8.1f} ms")
    return p95(samples)


def raw_query(sql: str, params: list):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run


def measure(repeat: int) -> None:
    from campaigns.models import Campaign, Message
    from smsplatform.models import Membership

    messages = Message.objects.count()
    campaign = Campaign.objects.annotate(n=models.Count("messages")).order_by("-recipients").first()
    org = campaign.org
    owner = Membership.objects.filter(org=org).select_related("user").first().user
    say(
        f"\n{messages:,} messages, {Campaign.objects.count():,} campaigns, "
        f"{Campaign.objects.values('org').distinct().count()} organisations; report of campaign {campaign.pk} "
        f"({campaign.recipients:,} messages), dashboard of its organisation"
    )
    api_call = _report_api_call(org, owner, campaign)
    _plans(org, campaign)
    _report_and_dashboard(org, owner, campaign, api_call, repeat)
    _pages(owner, campaign, repeat)
    _counters_cost(campaign)


def _report_api_call(org, owner, campaign):
    """The report API request, checked once with its query count; returned to be timed."""
    from analytics import selectors
    from smsplatform.services import api_key_create

    key = api_key_create(org=org, actor=owner, name=f"bench {time.time()}").raw_key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    url = f"/api/v1/campaigns/{campaign.pk}/report"

    def api_call():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    with CaptureQueriesContext(connection) as ctx:
        api_call()
    say(
        f"  report API: {len(ctx.captured_queries)} queries; {json.dumps(selectors.campaign_report(org, campaign))}"
    )
    return api_call


def _plans(org, campaign) -> None:
    from analytics import selectors

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT status, count(*) FROM campaigns_message WHERE campaign_id = %s "
            "GROUP BY status",
            [campaign.pk],
        )
        plan = [row[0] for row in cursor.fetchall()]
    say("  raw GROUP BY plan: " + " | ".join(p.strip() for p in plan if "Scan" in p or "Execution" in p))
    # The report page's per-recipient table, first page: the plan of the page query as the selector runs it.
    with CaptureQueriesContext(connection) as ctx:
        selectors.campaign_recipients(org, campaign)
    page_sql = next(q["sql"] for q in ctx.captured_queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {page_sql}")
        plan = [row[0] for row in cursor.fetchall()]
    say(
        "  recipients page plan: "
        + " | ".join(p.strip() for p in plan if "Scan" in p or "Removed" in p or "Execution" in p)
    )


def _report_and_dashboard(org, owner, campaign, api_call, repeat: int) -> None:
    """The report and the dashboard beside the raw GROUP BY over the same rows."""
    from django.template import engines
    from django.test import RequestFactory

    from analytics import selectors

    raw_report = raw_query(
        "SELECT status, count(*) FROM campaigns_message WHERE campaign_id = %s GROUP BY status", [campaign.pk]
    )
    raw_dash = raw_query(
        "SELECT status, count(*) FROM campaigns_message WHERE org_id = %s GROUP BY status", [org.pk]
    )
    request = RequestFactory().get("/")
    request.user = owner
    template = engines["django"].get_template("analytics/_dashboard.html")

    def dashboard():
        template.render({"request": request, "current_org": org})

    say("")
    raw_r = line("raw GROUP BY status of the campaign's rows", timed(raw_report, repeat))
    api_r = line("GET /api/v1/campaigns/{id}/report (whole request)", timed(api_call, repeat))
    line("  campaign_report selector alone", timed(lambda: selectors.campaign_report(org, campaign), repeat))
    say(f"  -> report p95 {api_r:.1f} ms = {api_r / raw_r:.2f}x the raw GROUP BY (target < 200 ms, <= 2x)")
    say("")
    raw_d = line("raw GROUP BY status of the organisation's rows", timed(raw_dash, repeat))
    dash_d = line("dashboard section (selectors + template)", timed(dashboard, repeat))
    line("  dashboard_summary selector alone", timed(lambda: selectors.dashboard_summary(org), repeat))
    say(
        f"  -> dashboard p95 {dash_d:.1f} ms = {dash_d / raw_d:.2f}x the raw GROUP BY (target < 200 ms, <= 2x)"
    )
    say("")


def _pages(owner, campaign, repeat: int) -> None:
    page_client = Client()
    page_client.force_login(owner)
    page = f"/reports/campaigns/{campaign.pk}/"
    if page_client.get(page).status_code == 200:
        line(
            "report page (HTML, timeline, first 50 recipients)",
            timed(lambda: page_client.get(page), max(5, repeat // 4)),
        )
    line(
        "reports index (comparison of campaigns)",
        timed(lambda: page_client.get("/reports/"), max(5, repeat // 4)),
    )


def _counters_cost(campaign) -> None:
    """The cost of the counters on the write path: a batch UPDATE like the receipts of 1,000 messages."""
    from analytics.services import message_counts_squash
    from campaigns.models import Message

    ids = list(Message.objects.filter(campaign=campaign, status="sent").values_list("id", flat=True)[:1000])

    def flip(to_status: str):
        def run():
            with transaction.atomic():
                Message.objects.filter(pk__in=ids).update(status=to_status)

        return run

    with_trigger = timed(lambda: (flip("delivered")(), flip("sent")()), 5)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE campaigns_message DISABLE TRIGGER analytics_msgcount_upd")
    try:
        without = timed(lambda: (flip("delivered")(), flip("sent")()), 5)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE campaigns_message ENABLE TRIGGER analytics_msgcount_upd")
    say("")
    line("2 UPDATEs of 1,000 messages, with the counters' trigger", with_trigger)
    line("2 UPDATEs of 1,000 messages, trigger disabled", without)
    t = time.perf_counter()
    result = message_counts_squash()
    say(f"  squash after them: {result} in {(time.perf_counter() - t) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    say(f"database {DB_NAME}: migrating")
    call_command("migrate", verbosity=0)
    from campaigns.models import Message

    existing = Message.objects.count()
    if args.regenerate or abs(existing - args.rows) > args.rows * 0.01:
        say(f"generating {args.rows:,} messages across {args.orgs} organisations (found {existing:,})")
        generate(args.rows, args.orgs, args.big)
    else:
        say(f"reusing the {existing:,} messages already generated (--regenerate to start again)")
    measure(args.repeat)


if __name__ == "__main__":
    main()
