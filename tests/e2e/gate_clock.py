"""The sending-window clock of the browser test stack (never used outside tests/e2e).

The journey sends a real *marketing* campaign under the real French pack (FR_STRICT: Monday to
Saturday 08:00-20:00 in the recipient's local time, no Sundays nor public holidays). CI runs at any
hour and on Sundays, so at the real instant the gate would rightly defer every message and the journey
could not "watch it send".

Nothing in the product is bent for this: no extra rule pack, no setting. Instead the test stack moves
the one clock the gate reads. :func:`compliance.gate.evaluate` is pure and takes ``now`` from its
callers; the three callers that evaluate windows (the batch in ``campaigns.pipeline.batch``, the estimate
in ``campaigns.services.estimate`` and the window preview in ``campaigns.selectors``) get a wrapper that
passes ``now + offset``. Every other timestamp (scheduling, sent/delivered times, frequency caps,
reports) stays on the real clock.

The offset is zero when the real instant is already inside the window of every journey recipient (with
a margin for the length of the journey); otherwise it is the distance to the first instant, found by
the gate itself, where it is. The live server (in the pytest process) installs it with
``monkeypatch``; the Celery worker is started through ``tests/e2e/worker.py``, which installs it from
the ``E2E_GATE_OFFSET`` environment variable before Celery starts.
"""

from __future__ import annotations

import importlib
import os
from datetime import UTC, datetime, timedelta

ENV = "E2E_GATE_OFFSET"
CALLERS = ("campaigns.pipeline.batch", "campaigns.services.estimate", "campaigns.selectors")
STEP = timedelta(minutes=15)
MARGIN = timedelta(minutes=90)
HORIZON = timedelta(days=15)


def _all_open(numbers: list[tuple[str, str]], at: datetime) -> bool:
    from compliance.context import recipient_context
    from compliance.gate import ALLOW, MARKETING, GateItem, evaluate
    from compliance.packs import default_policy

    policy = default_policy()
    items = [
        GateItem(context=recipient_context(p, postal), policy=policy, category=MARKETING, consent="opt_in")
        for p, postal in numbers
    ]
    return all(d.outcome == ALLOW for d in evaluate(items, at))


def offset_for(numbers: list[tuple[str, str]], now: datetime | None = None) -> timedelta:
    """The smallest offset (a multiple of 15 minutes) that puts ``now`` and ``now + MARGIN`` inside the
    default pack's window for every (E.164 phone, postal code) of ``numbers``."""
    now = now or datetime.now(UTC)
    offset = timedelta(0)
    while offset <= HORIZON:
        at = now + offset
        if _all_open(numbers, at) and _all_open(numbers, at + MARGIN):
            return offset
        offset += STEP
    raise AssertionError("no sending window for the journey's recipients in the next 15 days")


def shifted(evaluate, offset: timedelta):
    def evaluate_at_shifted_clock(items, now):
        return evaluate(items, now + offset)

    evaluate_at_shifted_clock.e2e_offset = offset
    return evaluate_at_shifted_clock


def install(offset: timedelta, setattr_=setattr) -> None:
    """Wraps ``evaluate`` in each caller module (``setattr_`` may be ``monkeypatch.setattr``)."""
    from compliance.gate import evaluate

    for name in CALLERS:
        module = importlib.import_module(name)
        assert getattr(module, "evaluate", None) is not None, f"{name} no longer imports evaluate"
        setattr_(module, "evaluate", shifted(evaluate, offset))


def install_from_env() -> timedelta | None:
    seconds = os.environ.get(ENV)
    if not seconds:
        return None
    offset = timedelta(seconds=int(seconds))
    install(offset)
    return offset
