"""The composer's exact price of a message over a large audience: the grouped pass it now runs beside the
per-recipient pass it replaces, measured in the same run on the same contacts.

    python bench/composer_cost.py [--contacts 100000] [--repeat 20] [--regenerate]

Data goes to a dedicated database (``bench_composer`` on the server of ``DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/``), created and migrated when missing, generated with
``INSERT ... SELECT generate_series`` and kept between runs (``--regenerate`` starts again): one
organisation, one list of N French mobiles plus a few hundred Belgian ones (two prices), first names drawn
from ~2,000 distinct names of which ~10% carry a letter outside GSM-7 (Noël, Zoë, Loïc), some empty.

(a) the grouped pass: ``audience_groups`` (one grouped query) + ``audience_price`` (one rendering per
    distinct text), as the composer runs it on each keystroke;
(b) the baseline: ``audience_rows`` streamed, ``contact_values`` + ``render_for`` + the regional price
    for each recipient, as ``campaign_estimate`` does.

It prints figures and asserts nothing, except that both passes must give the same credits: it exits
with status 1 when they differ (a bug to report).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter

from _postgres import insert_select, use_database, vacuum_analyze

DB_NAME = "bench_composer"
URL = use_database(DB_NAME, "bench/composer_cost.py")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from analytics.links import body_for_counting  # noqa: E402
from billing.selectors import prices_for_regions  # noqa: E402
from campaigns.costing import audience_price  # noqa: E402
from campaigns.models import Campaign  # noqa: E402
from campaigns.rendering import contact_values, merge_fields, prepare_body, render_for  # noqa: E402
from campaigns.selectors import audience_groups, audience_rows  # noqa: E402
from campaigns.services import campaign_create  # noqa: E402
from compliance.encoding import UCS2, is_gsm7  # noqa: E402
from contacts.models import Contact, ContactList, ListMembership  # noqa: E402
from smsplatform.models import Membership, Organisation, User  # noqa: E402
from smsplatform.onboarding import signup  # noqa: E402

settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ORG_NAME = "Bench composer"
LIST_NAME = "Clients fleurs"
CAMPAIGN_NAME = "Bench composer cost"
BODY = (
    "Bonjour {first_name|client}, -20% sur les fleurs de saison ce week-end, venez vite ! "
    "https://fleurs.example/promo"
)
BE_CONTACTS = 300
DISTINCT_NAMES = 2000
EMPTY_EVERY = 40  # one contact in 40 has no first name (the fallback "client" is sent)


def say(text: str) -> None:
    print(text, flush=True)


def peak_rss(phase: str) -> None:
    """The process's peak resident set so far (Linux reports kilobytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"  peak RSS after {phase}: {peak:,.0f} MB")


# --- first names -----------------------------------------------------------------------------------

REAL_NAMES = (
    "Marie Camille Léa Manon Chloé Emma Inès Jade Louise Alice Lina Rose Anna Julia Juliette Lucie Clara "
    "Sarah Mila Ambre Hugo Lucas Louis Gabriel Arthur Jules Adam Léo Nathan Tom Théo Paul Ethan Sacha "
    "Martin Victor Nolan Timéo Mathis Enzo Pierre Jean Jacques Michel Philippe Alain Nicolas Christophe "
    "Thomas Julien Olivier Éric Laurent Stéphane Sébastien Frédéric David Patrick Bernard Christian Daniel "
    "Sylvie Isabelle Nathalie Catherine Christine Valérie Sandrine Sophie Céline Hélène Cécile Agnès "
    "Amélie Mélanie Aurélie Élodie Émilie Océane Noémie Jérémy Rémi Aurélien Anthony Kévin Maxime Romain "
    "Mathilde Margaux Pauline Justine Charlotte Élise Anne Odile Yvette Josiane Gérard André René Ginette "
    "Noël Zoë Loïc Gaëlle Françoise François Anaïs Joël Raphaël Maël Gaël Héloïse Maïwenn Jérôme Benoît "
    "Thaïs Lénaïc Côme Joëlle Noëlle Gaëtan Maëlys Anaëlle Naël Ismaël Raphaëlle Laëtitia Eloïse"
).split()
SYLLABLES = (
    "Ma Lu Ca Jo Ro Be Cla Na Ti So Vi Ju Ga Li Mi Pa Sa Fe Da Ha E A Lo No Re Se Ve Ze Ba Cha Flo Gi "
    "Ka Mo Ri Ya".split()
)
ENDINGS = "rie cas line bin main lien rine thieu nelle dine lou ra sane rence tan xime ria lie mon nel dric rick gaut ssia vin lia ron ny ette lise".split()
# The letters of French first names that GSM-7 lacks (é, è, à, ü are in it; these are not).
OUTSIDE_GSM7 = {"e": "ë", "i": "ï", "o": "ô", "c": "ç", "a": "â"}


def first_names(count: int = DISTINCT_NAMES, share_outside: float = 0.10) -> list[str]:
    """``count`` distinct first names, real and synthetic (Maline, Jo-Louise...), in a fixed random
    order, of which ``share_outside`` carry a letter outside GSM-7."""
    names = dict.fromkeys(REAL_NAMES)
    for start in SYLLABLES:
        for end in ENDINGS:
            names[start + end] = None
    reals = list(REAL_NAMES)
    for i, first in enumerate(reals):
        for second in reals[i + 1 :]:
            if len(names) >= count:
                break
            if is_gsm7(first + second):
                names[f"{first}-{second}"] = None
    ordered = list(names)[:count]
    outside = sum(1 for name in ordered if not is_gsm7(name))
    target = int(count * share_outside)
    taken = set(ordered)
    for index in range(len(REAL_NAMES), len(ordered), 7):
        if outside >= target:
            break
        accented = _accent(ordered[index], index)
        if accented and accented not in taken:
            taken.add(accented)
            ordered[index] = accented
            outside += 1
    random.Random(2026).shuffle(ordered)
    return ordered


def _accent(name: str, index: int) -> str | None:
    """``name`` with one letter replaced by its form outside GSM-7 (the letter chosen in turn)."""
    letters = list(OUTSIDE_GSM7)
    for k in range(len(letters)):
        letter = letters[(index + k) % len(letters)]
        position = name.find(letter, 1)
        if position > 0:
            return name[:position] + OUTSIDE_GSM7[letter] + name[position + 1 :]
    return None


# --- generation ------------------------------------------------------------------------------------


def generate(contacts: int) -> None:
    started = time.perf_counter()
    _clear()
    _user, org = signup(
        email="bench-composer@example.com", password="Long-enough-pw-1", org_name=ORG_NAME, country="FR"
    )
    contact_list = ContactList.objects.create(org=org, name=LIST_NAME)
    names = first_names()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_names")
        cursor.execute("CREATE TEMP TABLE bench_names (i integer PRIMARY KEY, name text NOT NULL)")
        cursor.execute(
            "INSERT INTO bench_names SELECT i, name FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, i)",
            [names],
        )
    t = time.perf_counter()
    _contacts(org.pk, contacts, "FR", "'+336' || lpad(g::text, 8, '0')", "Europe/Paris", len(names))
    _contacts(org.pk, BE_CONTACTS, "BE", "'+32470' || lpad(g::text, 6, '0')", "Europe/Brussels", len(names))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_names")
        cursor.execute(
            f'INSERT INTO "{ListMembership._meta.db_table}" (org_id, contact_list_id, contact_id, added_at) '
            f'SELECT org_id, %s, id, now() FROM "{Contact._meta.db_table}" WHERE org_id = %s',
            [contact_list.pk, org.pk],
        )
    say(f"  {contacts + BE_CONTACTS:,} contacts and memberships: {time.perf_counter() - t:.1f} s")
    say(f"  VACUUM ANALYZE: {vacuum_analyze():.1f} s")
    outside = sum(1 for name in names if not is_gsm7(name))
    say(
        f"  {len(names):,} distinct first names, {outside} ({outside / len(names):.0%}) with a letter outside "
        f"GSM-7, e.g. {', '.join(n for n in names if not is_gsm7(n))[:90]}..."
    )
    say(f"  generation total: {time.perf_counter() - started:.1f} s")


def _clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE contacts_listmembership, contacts_contactlist, contacts_contact, campaigns_campaign CASCADE"
        )
    Organisation.objects.filter(name=ORG_NAME).delete()
    User.objects.filter(email="bench-composer@example.com").delete()


def _contacts(org_id: int, count: int, region: str, phone: str, zone: str, names: int) -> None:
    """``count`` opted-in contacts of ``region``; first names drawn from ``bench_names`` with a skew (the
    first names of the shuffled list are the most frequent, as in a real file), one in 40 empty."""
    draw = f"1 + floor({names} * power(((g::bigint * 2654435761) % 4294967291)::float8 / 4294967291, 2))"
    insert_select(
        Contact,
        {
            "org_id": str(org_id),
            "phone": phone,
            "first_name": f"CASE WHEN g % {EMPTY_EVERY} = 0 THEN '' ELSE nm.name END",
            "consent_basis": "'opt_in'",
            "consent_source": "'import'",
            "consent_collected_at": "now() - (g % 365) * interval '1 day'",
            "region": f"'{region}'",
            "timezone": f"'{zone}'",
            "calendar": f"'{region}'",
            "created_at": "now() - (g % 365) * interval '1 day'",
            "updated_at": "now()",
        },
        f"generate_series(1, {int(count)}) AS g JOIN bench_names nm ON nm.i = {draw}",
    )


def data_present(contacts: int) -> bool:
    org = Organisation.objects.filter(name=ORG_NAME).first()
    if org is None or not ContactList.objects.filter(org=org, name=LIST_NAME).exists():
        return False
    counts = dict(
        Contact.objects.filter(org=org).values_list("region").annotate(n=models.Count("id")).order_by()
    )
    members = ListMembership.objects.filter(org=org).count()
    say(f"  found {counts} in {members:,} list memberships")
    return counts == {"FR": contacts, "BE": BE_CONTACTS} and members == contacts + BE_CONTACTS


# --- measurement -----------------------------------------------------------------------------------


def timed(func, repeat: int) -> tuple[list[float], object]:
    """``repeat`` timings in ms after a warm-up run, and the warm-up's result."""
    result = func()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        samples.append((time.perf_counter() - t) * 1000)
    return samples, result


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def line(label: str, samples: list[float]) -> None:
    say(
        f"  {label:<50} p50 {statistics.median(samples):9.1f} ms   p95 {p95(samples):9.1f} ms   "
        f"max {max(samples):9.1f} ms   (n={len(samples)})"
    )


def allocations(func) -> float:
    """Peak Python allocations of one run of ``func``, in MB (tracemalloc; not timed)."""
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()


def per_recipient(org: Organisation, campaign: Campaign, template: str) -> dict:
    """The baseline: every recipient's text rendered and priced, as ``campaign_estimate`` does."""
    prices: dict[str, int] = {}
    credits = recipients = 0
    sizes: Counter[tuple[int, bool]] = Counter()
    for row in audience_rows(org, campaign):
        region = row["region"] or ""
        if region not in prices:
            prices.update(prices_for_regions([region]))
        rendered = render_for(
            template,
            contact_values(row),
            smart=campaign.smart_encoding,
            transliterate_values=campaign.transliterate_merge_values,
        )
        credits += rendered.segments * prices[region]
        recipients += 1
        sizes[(rendered.segments, rendered.encoding == UCS2)] += 1
    return {"credits": credits, "recipients": recipients, "sizes": dict(sizes)}


def _fixtures() -> tuple[Organisation, ContactList, Campaign]:
    org = Organisation.objects.get(name=ORG_NAME)
    contact_list = ContactList.objects.get(org=org, name=LIST_NAME)
    campaign = Campaign.objects.filter(org=org, name=CAMPAIGN_NAME, body=BODY).first()
    if campaign is None:
        owner = Membership.objects.filter(org=org).select_related("user").first().user
        campaign = campaign_create(
            org=org, actor=owner, name=CAMPAIGN_NAME, body=BODY, list_ids=[contact_list.pk]
        )
    return org, contact_list, campaign


def _grouped_phase(org, contact_list, template: str, fields: list[str], repeat: int):
    def groups():
        return audience_groups(org, [contact_list.pk], [], fields)

    def grouped():
        found = groups()
        return found, audience_price(found, template, fields=fields, smart=False, transliterate_values=False)

    with CaptureQueriesContext(connection) as ctx:
        found, price = grouped()
    grouped_sql = next(q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"])
    say(f"  grouped pass: {len(ctx.captured_queries)} queries, {len(found):,} groups")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {grouped_sql}")
        plan = [row[0].strip() for row in cursor.fetchall()]
    say("  grouped query plan: " + " | ".join(p for p in plan if "Scan" in p or "Aggregate" in p)[:400])
    say("                      " + " | ".join(p for p in plan if "Execution" in p))
    samples, _ = timed(grouped, repeat)
    line("(a) audience_groups + audience_price", samples)
    line("    audience_groups alone (the query)", timed(groups, repeat)[0])
    line(
        "    audience_price alone (the renderings)",
        timed(lambda: audience_price(found, template, fields=fields), repeat)[0],
    )
    say(f"  grouped pass: peak Python allocations {allocations(grouped):,.1f} MB")
    peak_rss("the grouped pass")
    return samples, found, price


def _baseline_phase(org, campaign: Campaign, template: str, runs: int):
    with CaptureQueriesContext(connection) as ctx:
        per_recipient(org, campaign, template)
    say(f"  per-recipient pass: {len(ctx.captured_queries)} queries")
    samples, totals = timed(lambda: per_recipient(org, campaign, template), runs)
    line("(b) audience_rows + render_for per recipient", samples)
    say(
        f"  per-recipient pass: peak Python allocations "
        f"{allocations(lambda: per_recipient(org, campaign, template)):,.1f} MB"
    )
    peak_rss("the per-recipient pass")
    return samples, totals


def _compare(grouped: list[float], price, baseline: list[float], totals: dict) -> bool:
    g50, g95 = statistics.median(grouped), p95(grouped)
    b50, b95 = statistics.median(baseline), p95(baseline)
    say("")
    say(f"  {'':<32}{'p50':>12}{'p95':>12}{'credits':>12}{'recipients':>12}")
    say(
        f"  {'(a) grouped (composer)':<32}{g50:>9.1f} ms{g95:>9.1f} ms{price.credits:>12,}{price.recipients:>12,}"
    )
    say(
        f"  {'(b) per recipient (baseline)':<32}{b50:>9.1f} ms{b95:>9.1f} ms"
        f"{totals['credits']:>12,}{totals['recipients']:>12,}"
    )
    say(f"  ratio (b) / (a): p50 {b50 / g50:.1f}x, p95 {b95 / g95:.1f}x")
    tiers = {(t.segments, t.unicode): t.recipients for t in price.tiers}
    say(
        "  tiers (segments, unicode) -> recipients: "
        + ", ".join(f"{k}: {n:,}" for k, n in sorted(tiers.items()))
    )
    chars = ", ".join(dict.fromkeys(c for t in price.tiers for c in t.characters.split(", ") if c))
    say(
        f"  credits if the values were transliterated: {price.credits_transliterated} "
        f"(saves {price.transliteration_saves:,}); characters from the values: {chars}"
    )
    agree = price.credits == totals["credits"] and price.recipients == totals["recipients"]
    say(f"  tiers agree: {'yes' if tiers == totals['sizes'] else 'no: ' + str(totals['sizes'])}")
    say(f"  totals agree: {'yes' if agree else 'no'}")
    return agree


def measure(repeat: int) -> bool:
    org, contact_list, campaign = _fixtures()
    fields = merge_fields(BODY)
    template = body_for_counting(prepare_body(BODY, marketing=True, stop_mention=org.stop_mention))
    empty = render_for(template, {}, smart=False)
    say(
        f"\naudience: list {contact_list.pk} of organisation {org.pk}, draft campaign {campaign.pk}; "
        f"fields {fields}; template as counted ({len(template)} chars, {empty.segments} SMS {empty.encoding} "
        f"with the fallback): {template!r}"
    )
    grouped, _groups, price = _grouped_phase(org, contact_list, template, fields, repeat)
    say("")
    runs = max(3, repeat // 4)
    baseline, totals = _baseline_phase(org, campaign, template, runs)
    return _compare(grouped, price, baseline, totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    say(f"database {DB_NAME}: migrating")
    call_command("migrate", verbosity=0)
    peak_rss("setup")
    if args.regenerate or not data_present(args.contacts):
        say(f"generating {args.contacts:,} French + {BE_CONTACTS} Belgian contacts")
        generate(args.contacts)
        peak_rss("generation")
    else:
        say("reusing the contacts already generated (--regenerate to start again)")
    if not measure(args.repeat):
        say("the grouped and the per-recipient passes disagree: a bug to report")
        sys.exit(1)


if __name__ == "__main__":
    main()
