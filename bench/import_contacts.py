"""Contacts import throughput on PostgreSQL: our import job beside django-import-export and a floor.

    .venv/bin/python bench/import_contacts.py [--rows 1000000] [--sample-c 50000] [--skip-b] [--keep]

Printed, never asserted (docs/architecture.md, "Tests and benchmarks"). One messy file (French headers, ``;``,
Windows-1252, phone numbers in every format shops send incl. Excel damage; 5% invalid, 10% duplicates
within the file, 20% of the rows already present in the organisation) is imported, side by side in this
run, by:

(a) our import, end to end: job creation to report, through the Celery task's function called in this
    process (``contacts.tasks.import_job_run``), consent proofs and rejected-rows file included;
(b) django-import-export with its best settings: ``use_bulk=True``, ``CachedInstanceLoader``,
    ``skip_unchanged=True`` (a bench-local resource: ``contacts.resources.ContactResource`` validates and
    queries per row, which defeats the bulk mode);
(c) django-import-export defaults (the project's ``ContactResource`` with the default loader, row by
    row) on a sample of the file;
(d) the floor: phone normalisation, dedupe, COPY into a staging table, ``INSERT ... ON CONFLICT``.

(b) and (c), with the file reader all but (a) share, are in ``bench/_import_export_variants.py``.

Each variant gets its own organisation holding the same pre-existing contacts; the organisations are
deleted at the end (``--keep`` keeps them). ``DATABASE_URL`` chooses the database (default
postgres://postgres@127.0.0.1:5432/bench_import, created and migrated when missing).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _import_export_variants import read_rows, reason_of_phone, variant_b, variant_c

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_import"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

HEADER = "Civilité;Prénom;Nom;Portable;E-mail;Code postal;Ville;Date de naissance\r\n"
FIRST = ["Hélène", "François", "Zoé", "Jérôme", "Anaïs", "Noël", "Chloé", "Loïc", "Benoît", "Inès"]
LAST = ["Lefèvre", "Gérard", "Durand", "Müller", "Besançon", "Dupont", "Martin", "Bœuf", "Lemaître"]
TOWNS = [("75011", "Paris"), ("57000", "Metz"), ("6000", "Nice"), ("13001", "Marseille"), ("67000", "Strasbourg"),
         ("69003", "Lyon"), ("1000", "Bourg-en-Bresse"), ("", ""), ("44000", "Nantes")]  # fmt: skip
GENDERS = ["Mme", "M.", "Mlle", "Monsieur", "", "Madame", "M"]
INVALID = ["01 45 67 89 01", "abc", "0612", "", "+999 123", "3.36123E+11", "08 00 12 34 56", "n/a"]
PHONE_FORMATS = [
    lambda n: f"0{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:9]}",
    lambda n: f"+33 {n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:9]}",
    lambda n: f"0{n}",
    lambda n: f"0033{n}",
    lambda n: f"0{n[0]}.{n[1:3]}.{n[3:5]}.{n[5:7]}.{n[7:9]}",
    lambda n: n,  # Excel dropped the leading zero
    lambda n: f"{n[0]}.{n[1:]}E+08",  # Excel's scientific notation, recoverable
    lambda n: f'="0{n}"',
    lambda n: f"+33{n}",
]
TARGETS = {"a_rate": 20_000, "a_over_b": 3.0, "a_over_d": 0.6, "rss_mb": 300}


# --- the file --------------------------------------------------------------------------------------------


def nsn_of(k: int) -> str:
    """The k-th distinct mainland French mobile national number (061, 062, 064, 065 or 067 and seven
    digits; 7919 is prime to 5 * 10^7, so k -> number is one to one)."""
    q, r = divmod((k * 7919 + 12345) % (5 * 10**7), 10**7)
    return f"6{'12457'[q]}{r:07d}"


def make_file(path: Path, rows: int, seed: int = 11) -> tuple[list[str], Counter]:
    """Writes the messy file; returns the E.164 numbers to create beforehand (20% of the rows)."""
    rng = random.Random(seed)
    unique = int(rows * 0.85)
    existing_share = 0.20 / 0.85  # of the distinct valid numbers, so that 20% of the rows exist already
    existing: list[str] = []
    recent: list[str] = []
    k = 0
    kinds: Counter = Counter()
    with path.open("w", encoding="cp1252", newline="") as f:
        f.write(HEADER)
        buf = []
        for i in range(rows):
            roll = rng.random()
            if roll < 0.05:
                phone = rng.choice(INVALID)
                kinds["invalid"] += 1
            elif roll < 0.15 and recent:
                phone = rng.choice(PHONE_FORMATS)(rng.choice(recent))
                kinds["duplicate"] += 1
            elif k < unique or not recent:
                nsn = nsn_of(k)
                k += 1
                phone = rng.choice(PHONE_FORMATS)(nsn)
                if rng.random() < existing_share:
                    existing.append("+33" + nsn)
                if len(recent) < 20_000:
                    recent.append(nsn)
                else:
                    recent[rng.randrange(20_000)] = nsn
                kinds["new"] += 1
            else:
                phone = rng.choice(PHONE_FORMATS)(rng.choice(recent))
                kinds["duplicate"] += 1
            postal, town = rng.choice(TOWNS)
            email = rng.choice([f"c{i}@exemple.fr", "", f"C{i}@Exemple.FR", "pas-un-mail"])
            birth = rng.choice(["17/05/1985", "", "1990-02-28", "31234", "32/13/2001"])
            first, last = rng.choice(FIRST), rng.choice(LAST)
            buf.append(f"{rng.choice(GENDERS)};{first};{last};{phone};{email};{postal};{town};{birth}\r\n")
            if len(buf) >= 10_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    return existing, kinds


# --- organisations ---------------------------------------------------------------------------------------


def make_org(label: str, existing: list[str]):
    from django.db import connection

    from smsplatform.models import Organisation

    stamp = f"{os.getpid()}-{time.time_ns() % 10**9}"
    org = Organisation.objects.create(name=f"bench import {label}", slug=f"bench-import-{label}-{stamp}")
    columns = ("org_id, phone, first_name, last_name, email, gender, postal_code, city, attributes, "
               "consent_basis, consent_source, opted_out, region, timezone, calendar, created_at, updated_at")  # fmt: skip
    with connection.cursor() as cursor:
        for start in range(0, len(existing), 50_000):
            buffer = io.StringIO()
            for phone in existing[start : start + 50_000]:
                buffer.write(f"{org.pk}\t{phone}\tAncien\t\t\t\t\t\t{{}}\tsoft_opt_in\timport\tf\tFR\t"
                             "Europe/Paris\tFR\t2024-01-01 00:00:00+00\t2024-01-01 00:00:00+00\n")  # fmt: skip
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY contacts_contact ({columns}) FROM STDIN", buffer)
        cursor.execute("ANALYZE contacts_contact")
    return org


def drop_org(org) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("contacts_consentproof", "contacts_contacttag", "contacts_listmembership",
                      "contacts_contact", "contacts_importjob"):  # fmt: skip
            cursor.execute(f"DELETE FROM {table} WHERE org_id = %s", [org.pk])  # noqa: S608
    try:
        org.delete()
    except Exception as exc:  # a table of a module being migrated elsewhere
        print(f"note: organisation {org.pk} not deleted ({type(exc).__name__}); its contacts were")


def contact_count(org) -> int:
    from contacts.models import Contact

    return Contact.objects.filter(org=org).count()


# --- (a) our import ------------------------------------------------------------------------------------


def variant_a(org, path: Path) -> dict:
    """Our import: the wizard's services, then the Celery task's function run in this process."""
    from django.db import transaction

    from contacts import jobs, tasks
    from contacts.jobs import run
    from contacts.models import ImportJob

    with path.open("rb") as f:
        stored, size = jobs.import_file_store(org=org, fileobj=f, filename="clients-caisse.csv")
    dispatch = run.import_job_dispatch
    run.import_job_dispatch = lambda job: None  # the task is called below, in this process
    try:
        rss_before = _rss_mb()
        start = time.perf_counter()
        with transaction.atomic():
            job = jobs.import_job_create(
                org=org,
                actor=None,
                path=stored,
                original_filename="clients-caisse.csv",
                file_size=size,
                consent_basis="opt_in",
                consent_source="Caisse du magasin",
            )
        tasks.import_job_run(job.pk)
        seconds = time.perf_counter() - start
    finally:
        run.import_job_dispatch = dispatch
    job = ImportJob.objects.get(pk=job.pk)
    if job.status != "done":
        raise SystemExit(f"(a) import failed: {job.error_message}")
    return {
        "seconds": seconds,
        "created": job.created,
        "updated": job.updated,
        "invalid": job.invalid,
        "duplicates": job.duplicates,
        "reasons": dict(job.invalid_by_reason),
        "rss_before": rss_before,
        "rss_self": _rss_mb(),
        "rss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "proofs": _proofs(org, job.pk),
    }


def _proofs(org, job_id: int) -> int:
    from contacts.models import ConsentProof

    return ConsentProof.objects.filter(org=org, import_job_id=job_id).count()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- (d) the floor ----------------------------------------------------------------------------------------


def variant_d(org, path: Path, chunk: int = 50_000) -> dict:
    """Normalise the number (phonenumbers, with the engine's Excel repair so that the counts match),
    dedupe, COPY the raw fields into a staging table, one INSERT ... ON CONFLICT DO UPDATE per chunk."""
    from django.db import connection, transaction

    from contacts.importing.phones import normalise_phone

    seen: set[str] = set()
    reasons: Counter = Counter()
    created = updated = duplicates = 0
    cols = "phone, gender, first_name, last_name, email, postal_code, city"
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_stage (phone text, gender text, first_name text, "
            "last_name text, email text, postal_code text, city text)"
        )
        buffer = io.StringIO()
        pending = 0

        def flush():
            nonlocal created, updated, buffer, pending
            buffer.seek(0)
            with transaction.atomic():
                cursor.execute("TRUNCATE bench_stage")
                cursor.cursor.copy_expert(f"COPY bench_stage ({cols}) FROM STDIN", buffer)
                cursor.execute(
                    "INSERT INTO contacts_contact (org_id, phone, gender, first_name, last_name, email, "  # noqa: S608
                    "postal_code, city, attributes, consent_basis, consent_source, opted_out, region, "
                    "timezone, calendar, created_at, updated_at) "
                    f"SELECT {org.pk}, phone, left(gender, 8), left(first_name, 100), left(last_name, 100), "
                    "left(email, 254), left(postal_code, 12), left(city, 100), '{}', 'opt_in', 'import', "
                    "false, 'FR', 'Europe/Paris', 'FR', now(), now() FROM bench_stage "
                    "ON CONFLICT (org_id, phone) DO UPDATE SET first_name = EXCLUDED.first_name, "
                    "last_name = EXCLUDED.last_name, updated_at = now() RETURNING (xmax = 0)"
                )
                flags = [row[0] for row in cursor.fetchall()]
            created += sum(flags)
            updated += len(flags) - sum(flags)
            buffer = io.StringIO()
            pending = 0

        clean = str.maketrans({"\t": " ", "\n": " ", "\r": " ", "\\": "/"})
        for cells in read_rows(path):
            if not any(c.strip() for c in cells):
                continue
            phone = normalise_phone(cells[3], "FR")
            if phone.error is not None:
                reasons[reason_of_phone(phone.error)] += 1
                continue
            if phone.e164 in seen:
                duplicates += 1
                continue
            seen.add(phone.e164)
            buffer.write("\t".join((phone.e164, cells[0].translate(clean), cells[1].translate(clean),
                                    cells[2].translate(clean), cells[4].translate(clean),
                                    cells[5].translate(clean), cells[6].translate(clean))) + "\n")  # fmt: skip
            pending += 1
            if pending >= chunk:
                flush()
        if pending:
            flush()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "created": created,
        "updated": updated,
        "invalid": sum(reasons.values()),
        "duplicates": duplicates,
        "reasons": dict(reasons),
    }


# --- main -----------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extensions import parse_dsn

    dsn = parse_dsn(url)
    name = dsn.get("dbname")
    try:
        psycopg2.connect(url).close()
        return
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    print(f"created database {name}")


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-c", type=int, default=50_000)
    parser.add_argument("--skip-b", action="store_true", help="skip django-import-export bulk (slow)")
    parser.add_argument("--skip-c", action="store_true")
    parser.add_argument("--only-a", action="store_true", help="(a) and (d) only, for profiling")
    parser.add_argument("--keep", action="store_true", help="keep the organisations")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(url)
    settings = setup_django()
    tmp = tempfile.TemporaryDirectory(prefix="bench-import-")
    settings.IMPORT_FILES_ROOT = str(Path(tmp.name) / "imports")
    settings.IMPORT_MAX_UPLOAD_BYTES = 1 << 40  # the benchmark's file may exceed the upload limit

    path = Path(tmp.name) / "clients-caisse.csv"
    t0 = time.perf_counter()
    existing, kinds = make_file(path, args.rows)
    print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB, cp1252 ';' French headers; "
          f"generated in {time.perf_counter() - t0:.1f} s; {len(existing):,} numbers created beforehand "
          f"({len(existing) / args.rows:.0%} of rows), ~{kinds['invalid'] / args.rows:.0%} invalid, "
          f"~{kinds['duplicate'] / args.rows:.0%} duplicates")  # fmt: skip

    orgs = []
    try:
        results = run_variants(args, path, existing, orgs)
        print()
        print_targets(args.rows, results)
        print_counts(results)
    finally:
        if not args.keep:
            for org in orgs:
                drop_org(org)
        tmp.cleanup()


def setup_django():
    """Django set up and the database migrated; returns the settings, for the run's overrides."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0, interactive=False)
    except Exception as exc:  # another module's migration in progress: migrate what this bench needs
        print(f"note: full migrate failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
              "migrating contacts and compliance only")  # fmt: skip
        for app in ("smsplatform", "compliance", "contacts"):
            call_command("migrate", app, verbosity=0, interactive=False)
    return settings


def run_variants(args, path: Path, existing: list[str], orgs: list) -> dict[str, dict]:
    """Each variant in its own organisation (appended to ``orgs`` so that the caller drops them)."""
    results: dict[str, dict] = {}
    # (a) first, in a fresh process: its RSS high-water mark is the import's, not the other variants'.
    org_a = make_org("a", existing)
    orgs.append(org_a)
    results["a"] = variant_a(org_a, path)
    print(_line("(a) our import, end to end", args.rows, results["a"]))

    org_d = make_org("d", existing)
    orgs.append(org_d)
    results["d"] = variant_d(org_d, path)
    print(_line("(d) floor: normalise+dedupe+COPY+ON CONFLICT", args.rows, results["d"]))

    if not (args.skip_b or args.only_a):
        org_b = make_org("b", existing)
        orgs.append(org_b)
        results["b"] = variant_b(org_b, path)
        print(_line("(b) django-import-export bulk, best settings", args.rows, results["b"]))
    if not (args.skip_c or args.only_a):
        org_c = make_org("c", existing)
        orgs.append(org_c)
        sample = min(args.sample_c, args.rows)
        results["c"] = variant_c(org_c, path, sample)
        r = results["c"]
        print(f"{'(c) django-import-export defaults, ' + format(sample, ',') + ' rows':<48} "
              f"{rate(sample, r['seconds']):>10,.0f} rows/s  ({r['seconds']:.1f} s)  totals {r['totals']}")  # fmt: skip
    return results


def print_targets(rows: int, results: dict[str, dict]) -> None:
    a = results["a"]
    a_rate = rate(rows, a["seconds"])
    print(f"(a) rate      {a_rate:>10,.0f} rows/s        target >= {TARGETS['a_rate']:,}  "
          f"{'OK' if a_rate >= TARGETS['a_rate'] else 'MISSED'}")  # fmt: skip
    if "b" in results:
        ratio = results["b"]["seconds"] / a["seconds"]
        print(f"(a)/(b)       {ratio:>10.2f} x             target >= {TARGETS['a_over_b']}      "
              f"{'OK' if ratio >= TARGETS['a_over_b'] else 'MISSED'}")  # fmt: skip
    ratio = results["d"]["seconds"] / a["seconds"]
    print(f"(a)/(d)       {ratio:>10.2f} x             target >= {TARGETS['a_over_d']}      "
          f"{'OK' if ratio >= TARGETS['a_over_d'] else 'MISSED'}")  # fmt: skip
    peak = max(a["rss_self"], a["rss_children"])
    print(f"(a) peak RSS  {peak:>10.0f} MB            target <  {TARGETS['rss_mb']} MB  "
          f"{'OK' if peak < TARGETS['rss_mb'] else 'MISSED'}   (import process {a['rss_self']:.0f} MB "
          f"incl. {a['rss_before']:.0f} MB before the job; parse workers {a['rss_children']:.0f} MB)")  # fmt: skip
    print(f"(a) consent proofs written: {a['proofs']:,} (one per created or updated contact: "
          f"{'OK' if a['proofs'] == a['created'] + a['updated'] else 'MISMATCH'})")  # fmt: skip


def print_counts(results: dict[str, dict]) -> None:
    """The variants must agree on what they created, updated and rejected, or the rates compare nothing."""
    keys = ("created", "updated", "invalid", "duplicates", "reasons")
    reference = {k: results["a"][k] for k in keys}
    same = True
    for name in ("b", "d"):
        if name in results:
            other = {k: results[name][k] for k in keys}
            if other != reference:
                same = False
                print(f"COUNTS DIFFER: ({name}) {other}\n           vs (a) {reference}")
    if same:
        print(f"same counts and rejection reasons across variants: {reference}")
    if results.get("b", {}).get("errors"):
        print(f"(b) reported {results['b']['errors']} errors")


def _line(label: str, rows: int, r: dict) -> str:
    return (f"{label:<48} {rate(rows, r['seconds']):>10,.0f} rows/s  ({r['seconds']:.1f} s)  "
            f"created {r['created']:,} updated {r['updated']:,} invalid {r['invalid']:,} "
            f"duplicates {r['duplicates']:,}")  # fmt: skip


if __name__ == "__main__":
    main()
