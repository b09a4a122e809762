"""The import wizard's totals before the start (``contacts.jobs.import_totals``) on a large file.

    .venv/bin/python bench/import_totals.py [--rows 100000]

Printed, never asserted (docs/architecture.md, "Tests and benchmarks"). The messy file and the
pre-existing contacts of bench/import_contacts.py (5% invalid, ~10% duplicates, 20% of the rows already
contacts); the totals must stay well within a page request. ``DATABASE_URL`` as in that bench.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from import_contacts import drop_org, ensure_database, make_file, make_org, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--suppressed", type=int, default=1000, help="numbers of the file that opted out")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    settings = setup_django()
    from compliance.models import Suppression, phone_hash
    from contacts import jobs
    from contacts.jobs.totals import _scan
    from smsplatform.models import Organisation

    tmp = tempfile.TemporaryDirectory(prefix="bench-totals-")
    settings.IMPORT_FILES_ROOT = str(Path(tmp.name) / "imports")
    settings.IMPORT_MAX_UPLOAD_BYTES = 1 << 40
    source = Path(tmp.name) / "clients-caisse.csv"
    existing, kinds = make_file(source, args.rows)
    org = make_org("totals", existing)
    try:
        org = Organisation.objects.get(pk=org.pk)
        # A shop's opt-outs: some of its existing customers (the worst case hashes every number).
        Suppression.objects.bulk_create(
            Suppression(org=org, phone_hash=phone_hash(p), phone_e164=p, source="manual")
            for p in existing[: args.suppressed]
        )
        path, _size = jobs.import_file_store(
            org=org, fileobj=io.BytesIO(source.read_bytes()), filename=source.name
        )
        t0 = time.perf_counter()
        totals = jobs.import_totals(org=org, path=path, filename=source.name, mapping=None)
        seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        _scan(source, source.name, 3, "FR")  # the pass over the file alone, in this process
        scan = time.perf_counter() - t0
        print(
            f"{args.rows:,} rows, {args.suppressed:,} opted out: totals in {seconds:.2f} s "
            f"({args.rows / seconds:,.0f} rows/s); the pass over the file alone {scan:.2f} s"
        )
        print(f"  {totals.as_dict()} new={totals.new}; file made with {dict(kinds)}")
    finally:
        drop_org(org)
        tmp.cleanup()


if __name__ == "__main__":
    main()
