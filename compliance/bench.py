"""Benchmark of the gate and of segment counting (issue 4). Run: python -m compliance.bench

Prints decisions per second for a realistic batch (mixed regions, 5% suppressed, 10% outside their
window) beside the floor: the simplest possible loop over the same batch (one set lookup per message),
run in the same process so that the ratio holds on a noisy machine. Never asserts a time.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from .context import recipient_context
from .encoding import count_segments
from .gate import GateItem, evaluate
from .packs import default_policy

# 17:30 UTC on a Monday: 19:30 in Paris (open), 21:30 in Reunion (closed), 13:30 in the Antilles (open).
NOW = datetime(2026, 6, 15, 17, 30, tzinfo=UTC)
OPEN_NUMBERS = [("+33612345678", ""), ("+33612345678", "57000"), ("+33612345678", "67000"),
                ("+590690001234", ""), ("+596696123456", ""), ("+594694123456", "")]  # fmt: skip
CLOSED_NUMBERS = [("+262692601234", ""), ("+262639012345", "")]


def make_batch(size: int, seed: int = 4) -> tuple[list[GateItem], list[str]]:
    rng = random.Random(seed)
    policy = default_policy("FR_STRICT")
    open_ctx = [recipient_context(n, p) for n, p in OPEN_NUMBERS]
    closed_ctx = [recipient_context(n, p) for n, p in CLOSED_NUMBERS]
    items, phones = [], []
    for i in range(size):
        ctx = rng.choice(closed_ctx) if rng.random() < 0.10 else rng.choice(open_ctx)
        items.append(
            GateItem(
                context=ctx,
                policy=policy,
                consent="opt_in" if rng.random() < 0.98 else "unknown",
                suppressed=rng.random() < 0.05,
                sent_last_24h=0,
                sent_last_7d=rng.randrange(4),
            )
        )
        phones.append(f"+336{i:08d}")
    return items, phones


def _best(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_gate(batch_size: int = 5000, batches: int = 20) -> None:
    items, phones = make_batch(batch_size)
    suppressed = {p for p, it in zip(phones, items, strict=True) if it.suppressed}

    def gate():
        for _ in range(batches):
            evaluate(items, NOW)

    def floor():
        for _ in range(batches):
            [p in suppressed for p in phones]

    n = batch_size * batches
    gate_s, floor_s = _best(gate), _best(floor)
    outcomes: dict[str, int] = {}
    for d in evaluate(items, NOW):
        outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
    print(f"gate:  {n / gate_s:>12,.0f} decisions/s  (batches of {batch_size}; outcomes {outcomes})")
    print(f"floor: {n / floor_s:>12,.0f} set lookups/s (one per message, same batch)")
    print(f"ratio: gate takes {gate_s / floor_s:.1f}x the floor")


def bench_segments(count: int = 200_000) -> None:
    bodies = [
        "Bonjour Marie, -20% ce week-end chez Boutique Lila ! Code LILA20. STOP au 36111",
        "Soldes d'été à -50% sur tout le magasin, venez vite ! STOP au 36111",
        "Votre commande est prête, retrait en boutique jusqu'à 19h.",
        "Fête des mères : un bouquet offert dès 30€ d'achat. STOP au 36111",
    ]
    work = (bodies * (count // len(bodies) + 1))[:count]

    def segments():
        for body in work:
            count_segments(body)

    def floor():
        for body in work:
            len(body)

    seg_s, floor_s = _best(segments), _best(floor)
    print(f"segments: {count / seg_s:>12,.0f} messages/s")
    print(f"floor:    {count / floor_s:>12,.0f} len() calls/s")


def main() -> None:
    bench_gate()
    bench_segments()


if __name__ == "__main__":
    main()
