from django.urls import reverse

from billing.models import CreditAccount, CreditEntry, EntryKind
from billing.selectors import credits_balance
from smsplatform.models import AuditEntry, User


def superuser():
    return User.objects.create_superuser(email="ops@example.com", password="Long-enough-pw-1")


def test_operator_gives_and_takes_credits_with_a_reason(client, org):
    ops = superuser()
    client.force_login(ops)
    account = CreditAccount.objects.get(org=org)
    url = reverse("admin:billing_creditaccount_adjust", args=[account.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"amount": 50, "reason": "Geste commercial"}).status_code == 302
    assert client.post(url, {"amount": -20, "reason": "Correction"}).status_code == 302
    assert credits_balance(org) == 130
    assert client.post(url, {"amount": 5, "reason": ""}).status_code == 200  # a reason is required
    assert client.post(url, {"amount": -1000, "reason": "trop"}).status_code == 200  # never below zero
    assert credits_balance(org) == 130
    entries = CreditEntry.objects.filter(org=org, kind=EntryKind.ADJUSTMENT)
    assert sorted(entries.values_list("amount", flat=True)) == [-20, 50]
    assert AuditEntry.objects.filter(org=org, action="credits.adjustment", actor=ops).count() == 2


def test_entries_are_read_only_in_the_admin(client, org):
    client.force_login(superuser())
    entry = CreditEntry.objects.filter(org=org).first()
    assert client.get(reverse("admin:billing_creditentry_changelist")).status_code == 200
    change = reverse("admin:billing_creditentry_change", args=[entry.pk])
    assert client.post(change, {"amount": 9999}).status_code == 403
    assert client.get(reverse("admin:billing_creditentry_add")).status_code == 403
    assert (
        client.post(reverse("admin:billing_creditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.amount == 100


def test_admin_pages_render(client, org, packs):
    client.force_login(superuser())
    for name in (
        "creditaccount",
        "creditpack",
        "regionprice",
        "purchase",
        "invoice",
        "paymentevent",
        "creditreservation",
    ):
        assert client.get(reverse(f"admin:billing_{name}_changelist")).status_code == 200, name


def test_operator_edits_a_pack_through_the_service(client, packs):
    client.force_login(superuser())
    pack = packs[0]
    url = reverse("admin:billing_creditpack_change", args=[pack.pk])
    response = client.post(url, {"credits": 500, "price_ht_cents": 3000, "active": "on"})
    assert response.status_code == 302
    pack.refresh_from_db()
    assert pack.price_ht_cents == 3000
    assert AuditEntry.objects.filter(action="billing.pack_saved").exists()
