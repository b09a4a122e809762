import pytest

from billing.models import CreditEntry, CreditReservation, EntryKind
from billing.selectors import credit_reservation, credits_balance, credits_ledger_sum, credits_reserved
from billing.services import (
    InsufficientCredits,
    ReservationError,
    credits_adjust,
    credits_debit,
    credits_grant,
    credits_release,
    credits_reserve,
    credits_settle,
)
from smsplatform.errors import DomainError
from smsplatform.models import AuditEntry


def assert_consistent(org):
    assert credits_balance(org) == credits_ledger_sum(org)
    assert credits_balance(org) >= 0


def test_signup_credits_and_ledger_sum(org):
    assert credits_balance(org) == 100
    assert credits_reserved(org) == 0
    assert_consistent(org)


def test_reserve_takes_from_balance_and_is_counted_as_reserved(org, owner):
    reservation = credits_reserve(org=org, amount=60, reference="campaign:1", actor=owner)
    assert reservation.reserved == 60
    assert credits_balance(org) == 40
    assert credits_reserved(org) == 60
    entry = CreditEntry.objects.filter(org=org, reference="campaign:1").get()
    assert entry.kind == EntryKind.RESERVATION and entry.amount == -60
    assert AuditEntry.objects.filter(org=org, action="credits.reservation").exists()
    assert_consistent(org)


def test_reserve_more_than_balance_raises_and_writes_nothing(org):
    entries = CreditEntry.objects.count()
    with pytest.raises(InsufficientCredits) as exc:
        credits_reserve(org=org, amount=101, reference="campaign:1")
    assert exc.value.needed == 101 and exc.value.available == 100
    assert CreditEntry.objects.count() == entries
    assert not CreditReservation.objects.filter(org=org).exists()
    assert credits_balance(org) == 100


def test_insufficient_credits_is_a_domain_error_answered_402():
    exc = InsufficientCredits(needed=1200, available=800)
    assert isinstance(exc, DomainError) and exc.http_status == 402
    # The body the API answered before the common handler existed (docs/api.md, "Errors").
    assert exc.data() == {
        "detail": "This launch needs 1200 credits; 800 are available.",
        "code": "insufficient_credits",
    }
    assert str(exc) == "1200 credits needed, 800 available."


def test_reserve_twice_adds_to_the_same_reservation(org):
    credits_reserve(org=org, amount=10, reference="campaign:1")
    credits_reserve(org=org, amount=15, reference="campaign:1")
    assert credit_reservation(org, "campaign:1").reserved == 25
    assert credits_reserved(org) == 25


def test_release_gives_back_and_cannot_exceed_what_is_held(org):
    credits_reserve(org=org, amount=50, reference="campaign:1")
    credits_release(org=org, amount=20, reference="campaign:1")
    assert credits_balance(org) == 70
    assert credits_reserved(org) == 30
    with pytest.raises(ReservationError):
        credits_release(org=org, amount=31, reference="campaign:1")
    with pytest.raises(ReservationError):
        credits_release(org=org, amount=1, reference="campaign:unknown")
    assert credits_balance(org) == 70
    assert_consistent(org)


def test_settle_keeps_spent_releases_the_rest_and_closes(org):
    """sent = spent; blocked, failed, cancelled = released; nothing stays reserved."""
    credits_reserve(org=org, amount=80, reference="campaign:7")
    credits_release(org=org, amount=5, reference="campaign:7")  # blocked by the gate
    reservation = credits_settle(org=org, reference="campaign:7", spent=60)
    assert reservation.closed_at is not None
    assert (reservation.reserved, reservation.released, reservation.spent) == (80, 20, 60)
    assert credits_balance(org) == 40
    assert credits_reserved(org) == 0
    kinds = list(CreditEntry.objects.filter(org=org, reference="campaign:7").values_list("kind", "amount"))
    assert sorted(kinds) == sorted([("reservation", -80), ("release", 5), ("release", 15)])
    assert_consistent(org)


def test_settle_is_idempotent_and_closed_reservations_accept_nothing(org):
    credits_reserve(org=org, amount=30, reference="campaign:2")
    credits_settle(org=org, reference="campaign:2", spent=10)
    entries = CreditEntry.objects.count()
    credits_settle(org=org, reference="campaign:2", spent=10)  # a settle task delivered twice
    assert CreditEntry.objects.count() == entries
    with pytest.raises(ReservationError):
        credits_settle(org=org, reference="campaign:2", spent=11)
    with pytest.raises(ReservationError):
        credits_release(org=org, amount=1, reference="campaign:2")
    with pytest.raises(ReservationError):
        credits_reserve(org=org, amount=1, reference="campaign:2")
    assert credits_balance(org) == 90
    assert_consistent(org)


def test_settle_cannot_spend_more_than_held(org):
    credits_reserve(org=org, amount=30, reference="campaign:3")
    with pytest.raises(ReservationError):
        credits_settle(org=org, reference="campaign:3", spent=31)
    assert credits_reserved(org) == 30


def test_cancelled_campaign_releases_everything(org):
    credits_reserve(org=org, amount=30, reference="campaign:4")
    credits_settle(org=org, reference="campaign:4", spent=0)
    assert credits_balance(org) == 100 and credits_reserved(org) == 0


def test_settle_without_reservation(org):
    credits_settle(org=org, reference="campaign:empty", spent=0)
    with pytest.raises(ReservationError):
        credits_settle(org=org, reference="campaign:never", spent=3)
    assert credits_reserved(org) == 0


def test_reservations_are_per_organisation(org, other_org):
    _user, other = other_org
    credits_reserve(org=org, amount=10, reference="campaign:1")
    credits_reserve(org=other, amount=20, reference="campaign:1")
    assert credits_reserved(org) == 10 and credits_reserved(other) == 20
    credits_settle(org=org, reference="campaign:1", spent=10)
    assert credits_reserved(other) == 20


def test_ledger_services_keep_their_signatures(org, owner):
    credits_grant(org=org, amount=5, reference="x", actor=owner)
    credits_debit(org=org, amount=3, reference="y", actor=owner)
    with pytest.raises(ValueError):
        credits_grant(org=org, amount=0)
    with pytest.raises(InsufficientCredits):
        credits_debit(org=org, amount=1000)
    assert credits_balance(org) == 102
    assert_consistent(org)


def test_operator_adjustment_requires_a_reason_and_is_audited(org, owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        credits_adjust(org=org, actor=owner, amount=10, reason=" ")
    credits_adjust(org=org, actor=owner, amount=-40, reason="Geste commercial annulé")
    entry = CreditEntry.objects.filter(org=org, kind=EntryKind.ADJUSTMENT).get()
    assert entry.amount == -40 and entry.reason == "Geste commercial annulé"
    assert AuditEntry.objects.filter(org=org, action="credits.adjustment").exists()
    assert_consistent(org)
