"""``manage.py credits grant|remove``: the admin's adjustment from the command line, audited."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from billing.models import CreditEntry, EntryKind
from billing.selectors import credits_balance, credits_ledger_sum
from smsplatform.models import AuditEntry, User


def test_grant_then_remove_with_a_reason_are_in_the_ledger_and_the_audit_log(org, capsys):
    call_command("credits", "grant", org.slug, "500", reason="Geste commercial, panne du 3 mai")
    call_command("credits", "remove", org.slug, "200", reason="Crédits offerts par erreur")
    assert credits_balance(org) == 100 + 500 - 200 == credits_ledger_sum(org)
    entries = CreditEntry.objects.filter(org=org, kind=EntryKind.ADJUSTMENT).order_by("id")
    assert [(e.amount, e.reason) for e in entries] == [
        (500, "Geste commercial, panne du 3 mai"),
        (-200, "Crédits offerts par erreur"),
    ]
    audit = AuditEntry.objects.filter(org=org, action="credits.adjustment")
    assert audit.count() == 2 and all("manage.py credits" in a.actor_label for a in audit)
    assert "balance 400" in capsys.readouterr().out


def test_the_acting_staff_user_is_recorded(org):
    staff = User.objects.create_user(email="ops@example.com", password="Long-enough-pw-1", is_staff=True)
    call_command("credits", "grant", org.slug, "10", reason="Test", operator="OPS@example.com")
    assert AuditEntry.objects.filter(org=org, action="credits.adjustment").get().actor == staff


@pytest.mark.parametrize(
    ("args", "reason", "message"),
    [
        (["grant", "no-such-shop", "10"], "x", "No organisation"),
        (["grant", "{slug}", "0"], "x", "positive"),
        (["grant", "{slug}", "10"], "  ", "reason|motif"),  # the message in the platform's language
        (["remove", "{slug}", "1000"], "x", "credit"),
    ],
)
def test_refusals_say_why_and_change_nothing(org, args, reason, message):
    args = [a.format(slug=org.slug) for a in args]
    with pytest.raises(CommandError, match=f"(?i){message}"):
        call_command("credits", *args, reason=reason)
    assert credits_balance(org) == 100
    assert not CreditEntry.objects.filter(org=org, kind=EntryKind.ADJUSTMENT).exists()
