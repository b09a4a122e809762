from django.db.models import QuerySet, Sum
from smsplatform.models import Organisation

from .models import CreditAccount, CreditEntry


def credits_balance(org: Organisation) -> int:
    """The credits an organisation can spend now (one indexed row)."""
    return CreditAccount.objects.filter(org=org).values_list("balance", flat=True).first() or 0


def credits_ledger_sum(org: Organisation) -> int:
    """The sum of every entry: always equal to ``credits_balance`` (checked by tests and the admin)."""
    return CreditEntry.objects.filter(org=org).aggregate(total=Sum("amount"))["total"] or 0


def credit_entries(org: Organisation) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(org=org).order_by("-created_at", "-id")
