"""Many writers at once on PostgreSQL: the row locks must keep the ledger and the invoice series exact."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connection

from billing.models import (
    CreditEntry,
    CreditReservation,
    EntryKind,
    Invoice,
    InvoiceKind,
    Purchase,
    PurchaseStatus,
)
from billing.selectors import credits_balance, credits_ledger_sum, credits_reserved
from billing.services import (
    InsufficientCredits,
    credits_release,
    credits_reserve,
    credits_settle,
    purchase_confirm,
    purchase_refund,
    purchase_start,
)

from .conftest import make_org

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def run_threads(jobs):
    """Runs every job in its own thread, all released at once; returns each job's outcome."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def worker(i, job):
        try:
            barrier.wait()
            outcomes[i] = job()
        except Exception as exc:  # noqa: BLE001 - the outcome is checked by the test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def assert_ledger_exact(org):
    entries = list(CreditEntry.objects.filter(org=org).order_by("id").values_list("amount", "balance_after"))
    running = 0
    for amount, balance_after in entries:
        running += amount
        assert balance_after == running >= 0  # every movement saw the one before it
    assert credits_balance(org) == credits_ledger_sum(org) == running >= 0


def test_fifty_concurrent_writers_never_overdraw_nor_lose_anything(packs):
    owner, org = make_org("Concurrence")
    pack = packs[0]  # 500 credits
    to_pay = [
        purchase_start(org=org, actor=owner, pack=pack, success_url="x", cancel_url="y")[0] for _ in range(8)
    ]
    to_refund = []
    for _ in range(6):
        purchase, _url = purchase_start(org=org, actor=owner, pack=pack, success_url="x", cancel_url="y")
        to_refund.append(purchase_confirm(purchase=purchase))
    start_balance = credits_balance(org)  # 100 + 6 x 500
    rng = random.Random(7)

    def campaign(i):
        def job():
            amount = rng.randint(50, 400)
            reference = f"campaign:{i}"
            credits_reserve(org=org, amount=amount, reference=reference)
            blocked = rng.randint(0, amount // 4)
            if blocked:
                credits_release(org=org, amount=blocked, reference=reference)
            spent = rng.randint(0, amount - blocked)
            credits_settle(org=org, reference=reference, spent=spent)
            return ("campaign", spent)

        return job

    def pay(purchase):
        return lambda: ("paid", purchase_confirm(purchase=purchase).pk)

    def refund(purchase):
        return lambda: ("refunded", purchase_refund(org=org, actor=None, purchase=purchase).pk)

    jobs = [campaign(i) for i in range(26)]
    jobs += [pay(p) for p in to_pay] + [pay(p) for p in to_pay]  # every payment confirmed twice at once
    jobs += [refund(p) for p in to_refund] + [refund(p) for p in to_refund[:2]]
    assert len(jobs) == 50
    rng.shuffle(jobs)
    outcomes = run_threads(jobs)

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(e, InsufficientCredits) for e in errors), errors
    spent = sum(o[1] for o in outcomes if isinstance(o, tuple) and o[0] == "campaign")

    assert_ledger_exact(org)
    paid = Purchase.objects.filter(pk__in=[p.pk for p in to_pay], status=PurchaseStatus.PAID).count()
    assert paid == 8  # nothing can stop a confirmation
    refunded = Purchase.objects.filter(
        pk__in=[p.pk for p in to_refund], status=PurchaseStatus.REFUNDED
    ).count()
    purchase_entries = Counter(
        CreditEntry.objects.filter(org=org, kind=EntryKind.PURCHASE).values_list("reference", flat=True)
    )
    assert len(purchase_entries) == 14 and set(purchase_entries.values()) == {1}  # once each, never twice
    refund_entries = CreditEntry.objects.filter(org=org, kind=EntryKind.PURCHASE_REFUND).count()
    assert refund_entries == refunded
    assert credits_reserved(org) == 0  # every campaign settled: nothing stays reserved
    for reservation in CreditReservation.objects.filter(org=org):
        assert reservation.closed_at is not None
        assert reservation.reserved == reservation.released + reservation.spent
    assert credits_balance(org) == start_balance + 8 * 500 - refunded * 500 - spent
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.INVOICE).count() == 14
    assert Invoice.objects.filter(org=org, kind=InvoiceKind.CREDIT_NOTE).count() == refunded


def test_reservations_racing_for_the_last_credits(packs):
    _owner, org = make_org("Course")  # 100 credits
    outcomes = run_threads(
        [lambda i=i: credits_reserve(org=org, amount=7, reference=f"campaign:{i}") for i in range(50)]
    )
    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(won) == 14  # 14 x 7 = 98: exactly as many as the balance covers
    assert all(isinstance(o, InsufficientCredits) for o in outcomes if isinstance(o, Exception))
    assert credits_balance(org) == 2 and credits_reserved(org) == 98
    assert_ledger_exact(org)


def test_invoice_numbers_stay_unbroken_under_concurrent_purchases(packs):
    orgs = [make_org("Facture") for _ in range(5)]
    purchases = []
    for i in range(40):
        owner, org = orgs[i % 5]
        purchases.append(
            purchase_start(org=org, actor=owner, pack=packs[i % 3], success_url="x", cancel_url="y")[0]
        )
    before = Invoice.objects.filter(kind=InvoiceKind.INVOICE).count()
    outcomes = run_threads([lambda p=p: purchase_confirm(purchase=p) for p in purchases])
    assert not [o for o in outcomes if isinstance(o, Exception)]
    numbers = sorted(
        Invoice.objects.filter(kind=InvoiceKind.INVOICE).values_list("sequence_number", flat=True)
    )
    assert len(numbers) == before + 40
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no duplicate
    names = Invoice.objects.values_list("number", flat=True)
    assert len(set(names)) == len(names)

    # Refunds at the same time: the credit note series is unbroken too.
    outcomes = run_threads(
        [lambda p=p: purchase_refund(org=p.org, actor=None, purchase=p) for p in purchases[:20]]
    )
    assert not [o for o in outcomes if isinstance(o, Exception)]
    notes = sorted(
        Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).values_list("sequence_number", flat=True)
    )
    assert notes == list(range(1, 21))
