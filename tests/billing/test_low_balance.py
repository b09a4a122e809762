from django.core import mail

from billing.models import BillingSettings
from billing.services import billing_settings_update, credits_debit, credits_grant, credits_reserve
from smsplatform.models import Role

from .conftest import add_member


def test_alert_sent_once_per_crossing(org, owner, django_capture_on_commit_callbacks):
    add_member(org, Role.ADMIN)
    add_member(org, Role.ANALYST)
    billing_settings_update(org=org, actor=owner, low_balance_threshold=50)
    with django_capture_on_commit_callbacks(execute=True):
        credits_reserve(org=org, amount=40, reference="campaign:1")  # 60: above
    assert len(mail.outbox) == 0
    with django_capture_on_commit_callbacks(execute=True):
        credits_reserve(org=org, amount=20, reference="campaign:2")  # 40: crosses
        credits_debit(org=org, amount=10, reference="x")  # 30: still below, no second mail
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "40" in message.subject
    assert owner.email in message.to and len(message.to) == 2  # owner and admin, not the analyst
    with django_capture_on_commit_callbacks(execute=True):
        credits_grant(org=org, amount=100, reference="purchase:1")  # 130: re-armed
        credits_debit(org=org, amount=90, reference="y")  # 40: crosses again
    assert len(mail.outbox) == 2


def test_threshold_zero_never_alerts(org, owner, django_capture_on_commit_callbacks):
    billing_settings_update(org=org, actor=owner, low_balance_threshold=0)
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(org=org, amount=99)
    assert len(mail.outbox) == 0


def test_default_threshold_applies(org, settings, django_capture_on_commit_callbacks):
    settings.BILLING_LOW_BALANCE_DEFAULT_THRESHOLD = 80
    BillingSettings.objects.filter(org=org).delete()
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(org=org, amount=30)
    assert len(mail.outbox) == 1


def test_owner_sets_the_threshold_on_the_billing_page(owner_client, org):
    response = owner_client.post(
        "/billing/settings/",
        {
            "low_balance_threshold": 250,
            "billing_email": "compta@boulangerie.fr",
            "billing_address": "1 rue",
            "vat_number": "",
            "siren": "",
        },
    )
    assert response.status_code == 302
    prefs = BillingSettings.objects.get(org=org)
    assert prefs.low_balance_threshold == 250 and prefs.billing_email == "compta@boulangerie.fr"
    bad = owner_client.post("/billing/settings/", {"low_balance_threshold": -1, "billing_email": "nope"})
    assert bad.status_code == 400


def test_the_alert_is_written_in_each_recipients_language(org, owner, django_capture_on_commit_callbacks):
    admin = add_member(org, Role.ADMIN)
    type(admin).objects.filter(pk=admin.pk).update(language="en")
    billing_settings_update(org=org, actor=owner, low_balance_threshold=50)
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(org=org, amount=60, reference="campaign:1")
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {(owner.email,), (admin.email,)}
    assert "crédits" in by_recipient[(owner.email,)].body  # no language chosen: the platform's, French
    assert (
        "credits" in by_recipient[(admin.email,)].body and "crédits" not in by_recipient[(admin.email,)].body
    )
