"""Micro-benchmark of the pure import engine (no database): rows/s of each stage, printed, not asserted.

    .venv/bin/python bench/import_parsing.py [--rows 200000] [--big-mb 0]

Stages, on the same generated messy file (cp1252, ';', French headers, 5% invalid, 10% duplicates,
numbers in every format shops send): open_table alone, normalise_phone on unique numbers (cache misses,
the import's real case), on repeated numbers (cache hits), and the whole engine (read + map + clean_row).
--big-mb N also streams an N MB file and prints the peak traced memory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(USE_I18N=False)

from contacts.importing import phones  # noqa: E402
from contacts.importing.mapping import guess_mapping, make_row_mapper  # noqa: E402
from contacts.importing.reader import open_table  # noqa: E402
from contacts.importing.rows import CleanRow, clean_row  # noqa: E402

HEADER = "Civilité;Prénom;Nom;Portable;E-mail;Code postal;Ville;Date de naissance;Points\r\n"
FORMATS = [
    lambda n: f"0{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:9]}",
    lambda n: f"+33 {n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:9]}",
    lambda n: f"0{n}",
    lambda n: f"0033{n}",
    lambda n: f"0{n[0]}.{n[1:3]}.{n[3:5]}.{n[5:7]}.{n[7:9]}",
    lambda n: n,  # leading zero dropped
]


def make_file(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    seen: list[str] = []
    with path.open("w", encoding="cp1252", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            roll = rng.random()
            if roll < 0.05:
                phone = rng.choice(["01 45 67 89 01", "abc", "0612", "", "+999 123"])
            elif roll < 0.15 and seen:
                phone = rng.choice(seen)
            else:
                nsn = f"{rng.choice('67')}{rng.randrange(10**8):08d}"
                if nsn[0] == "7" and nsn[1] in "012":
                    nsn = "6" + nsn[1:]
                phone = rng.choice(FORMATS)(nsn)
                if len(seen) < 10_000:
                    seen.append(phone)
            f.write(f"Mme;Hélène{i};Lefèvre;{phone};h{i}@example.fr;75011;Paris;17/05/1985;{i % 500}\r\n")


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} rows/s  ({seconds:.2f} s for {n:,})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--big-mb", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        make_file(path, args.rows)
        print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB, cp1252 ';'")
        raw_phones = bench_open_table(path)
        bench_normalise(raw_phones, args.rows)
        to_fields = bench_engine(path)
        bench_clean_row(path, to_fields)
        if args.big_mb:
            bench_big_file(Path(tmp) / "big.csv", args.big_mb)


def bench_open_table(path: Path) -> list[str]:
    """Reads the file once; returns its raw phone cells for the next stages."""
    start = time.perf_counter()
    with path.open("rb") as f:
        table = open_table(f, path.name)
        raw_phones = [row[3] for row in table.rows]
    print("open_table (read + split)      ", rate(len(raw_phones), time.perf_counter() - start))
    return raw_phones


def bench_normalise(raw_phones: list[str], rows: int) -> None:
    unique = [f"06{n:08d}" for n in random.Random(1).sample(range(10**8), rows)]
    phones._normalise_cached.cache_clear()
    start = time.perf_counter()
    for raw in unique:
        phones.normalise_phone(raw, "FR")
    print("normalise_phone, unique numbers", rate(len(unique), time.perf_counter() - start))

    phones._normalise_cached.cache_clear()
    start = time.perf_counter()
    for raw in raw_phones:
        phones.normalise_phone(raw, "FR")
    print("normalise_phone, file's mix    ", rate(len(raw_phones), time.perf_counter() - start))

    repeated = raw_phones[:10_000] * (len(raw_phones) // 10_000)
    for raw in repeated[:10_000]:
        phones.normalise_phone(raw, "FR")
    start = time.perf_counter()
    for raw in repeated:
        phones.normalise_phone(raw, "FR")
    print("normalise_phone, cache hits    ", rate(len(repeated), time.perf_counter() - start))

    start = time.perf_counter()
    for raw in unique[:20_000]:
        phones.slow_path_only(raw, "FR")
    print("phonenumbers.parse path (ref.) ", rate(20_000, time.perf_counter() - start))


def bench_engine(path: Path):
    """The whole engine on the file; returns its row mapper for :func:`bench_clean_row`."""
    phones._normalise_cached.cache_clear()
    start = time.perf_counter()
    ok = rejected = 0
    with path.open("rb") as f:
        table = open_table(f, path.name)
        mapping = guess_mapping(table.headers)
        to_fields = make_row_mapper(table.headers, mapping, keep_unmapped=True)
        for cells in table.rows:
            mapped, unmapped = to_fields(cells)
            if isinstance(clean_row(mapped, "FR", keep_unmapped=unmapped), CleanRow):
                ok += 1
            else:
                rejected += 1
    elapsed = time.perf_counter() - start
    print(
        "whole engine (read+map+clean)  ",
        rate(ok + rejected, elapsed),
        f"ok={ok:,} rejected={rejected:,}",
    )
    return to_fields


def bench_clean_row(path: Path, to_fields) -> None:
    rows_only = [to_fields(c) for c in _first_rows(path, 50_000)]
    phones._normalise_cached.cache_clear()
    start = time.perf_counter()
    for mapped, unmapped in rows_only:
        clean_row(mapped, "FR", keep_unmapped=unmapped)
    print("clean_row alone                ", rate(len(rows_only), time.perf_counter() - start))


def bench_big_file(big: Path, big_mb: int) -> None:
    make_file(big, int(big_mb * 1e6 / 95))
    size = big.stat().st_size
    tracemalloc.start()
    start = time.perf_counter()
    with big.open("rb") as f:
        count = sum(1 for _ in open_table(f, big.name).rows)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"big file {size / 1e6:.0f} MB, {count:,} rows streamed in {elapsed:.1f} s (under tracemalloc), "
        f"peak traced memory {peak / 1e6:.2f} MB"
    )


def _first_rows(path: Path, n: int) -> list[list[str]]:
    with path.open("rb") as f:
        table = open_table(f, path.name)
        return [row for _, row in zip(range(n), table.rows, strict=False)]


if __name__ == "__main__":
    main()
