import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from billing.selectors import credits_balance
from smsplatform.models import Organisation

pytestmark = pytest.mark.django_db


def test_createorg_prints_a_working_api_key_as_its_last_line(capsys):
    call_command(
        "createorg",
        "Cave à Vins",
        "--owner-email",
        "cave@example.com",
        "--owner-password",
        "Long-enough-pw-1",
        "--api-key",
    )
    key = capsys.readouterr().out.strip().splitlines()[-1]
    org = Organisation.objects.get(name="Cave à Vins")
    assert credits_balance(org) == 100
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/account").json()["name"] == "Cave à Vins"


def test_createorg_refuses_a_weak_password_clearly():
    with pytest.raises(CommandError, match="too short|trop court"):
        call_command("createorg", "X", "--owner-email", "x@example.com", "--owner-password", "abc")
    assert not Organisation.objects.exists()


def test_seed_demo_loads_twice_without_duplicating_anything(capsys):
    from campaigns.models import Campaign
    from contacts.models import Contact, ContactList
    from smsplatform.models import Membership, User

    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (
        Organisation.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Contact.objects.count(),
        ContactList.objects.count(),
        Campaign.objects.count(),
    )
    call_command("seed_demo")
    assert "demo@smsplatform.local" in first
    assert counts[3] >= 200
    assert counts[4] == 2
    assert counts[5] == 1
    assert (
        Organisation.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Contact.objects.count(),
        ContactList.objects.count(),
        Campaign.objects.count(),
    ) == counts
    demo = Organisation.objects.get(slug="demo")
    assert credits_balance(demo) == 100
