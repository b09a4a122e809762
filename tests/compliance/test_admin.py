"""Admin of suppressions and sending policies: suppressions are never lost silently."""

import pytest
from django.test import Client

from compliance.models import OrgSendingPolicy, Suppression, SuppressionSource
from compliance.services import suppression_add, suppression_forget_numbers
from smsplatform.models import AuditEntry, User

pytestmark = pytest.mark.django_db

PHONE = "+33612345678"
LIST = "/admin/compliance/suppression/"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(email="root@example.com", password="Long-enough-pw-1")


@pytest.fixture
def staff(db):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user(email="staff@example.com", password="Long-enough-pw-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="compliance").exclude(codename__startswith="add_")
    )
    return user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def suppression(tenant_a):
    return suppression_add(
        org=tenant_a.org, phone_e164=PHONE, source=SuppressionSource.INBOUND_KEYWORD, proof="STOP"
    )


def test_list_shows_org_source_date(superuser, suppression, tenant_a):
    html = login(superuser).get(LIST).content.decode()
    assert PHONE in html and tenant_a.org.name in html
    assert "SMS reply (STOP)" in html or "Réponse par SMS (STOP)" in html


@pytest.mark.parametrize("term", [PHONE, "06 12 34 56 78", "0612345678"])
def test_search_by_number_finds_erased_entries_by_hash(superuser, suppression, tenant_a, tenant_b, term):
    suppression_add(org=tenant_b.org, phone_e164="+33698765432", source=SuppressionSource.MANUAL)
    suppression_forget_numbers(org=tenant_a.org, phones=[PHONE])  # readable number erased, hash kept
    response = login(superuser).get(LIST, {"q": term})
    assert list(response.context["cl"].result_list) == [suppression]


def test_search_by_hash(superuser, suppression):
    response = login(superuser).get(LIST, {"q": suppression.phone_hash[:16]})
    assert list(response.context["cl"].result_list) == [suppression]
    response = login(superuser).get(LIST, {"q": "+33700000000"})
    assert list(response.context["cl"].result_list) == []


def test_staff_cannot_change_nor_delete(staff, suppression):
    client = login(staff)
    url = f"{LIST}{suppression.pk}/change/"
    assert client.get(url).status_code == 200  # read-only view
    client.post(url, {"reason": "edited"})
    suppression.refresh_from_db()
    assert suppression.reason == ""
    assert client.post(f"{LIST}{suppression.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Suppression.objects.filter(pk=suppression.pk).exists()


def test_no_bulk_delete_even_for_superuser(superuser, suppression):
    client = login(superuser)
    response = client.post(
        LIST, {"action": "delete_selected", "_selected_action": [suppression.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert Suppression.objects.filter(pk=suppression.pk).exists()


def test_superuser_delete_warns_and_is_audited(superuser, suppression, tenant_a):
    client = login(superuser)
    url = f"{LIST}{suppression.pk}/delete/"
    page = client.get(url).content.decode()
    assert 'data-testid="suppression-delete-warning"' in page
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Suppression.objects.filter(pk=suppression.pk).exists()
    entry = AuditEntry.objects.get(org=tenant_a.org, action="compliance.suppression_deleted")
    assert entry.actor == superuser
    assert entry.data["phone_hash"] == suppression.phone_hash and entry.data["proof"] == "STOP"


def test_add_goes_through_the_service(superuser, tenant_a):
    response = login(superuser).post(
        f"{LIST}add/",
        {
            "org": tenant_a.org.pk,
            "phone_e164": "06 12 34 56 78",
            "source": "manual",
            "reason": "email",
            "proof": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    supp = Suppression.objects.get(org=tenant_a.org)
    assert supp.phone_e164 == PHONE and supp.source == "manual"
    assert AuditEntry.objects.filter(
        org=tenant_a.org, action="compliance.suppression_add", actor=superuser
    ).exists()


def test_sending_policy_admin_refuses_looser_and_saves_stricter(superuser, tenant_a):
    client = login(superuser)
    url = "/admin/compliance/orgsendingpolicy/add/"
    response = client.post(
        url, {"org": tenant_a.org.pk, "restrictions": '{"windows": {"mon": "07:00-19:00"}}'}
    )
    assert response.status_code == 200
    assert "France — règles strictes des opérateurs" in response.content.decode()
    assert not OrgSendingPolicy.objects.exists()
    response = client.post(url, {"org": tenant_a.org.pk, "restrictions": '{"closed_weekdays": ["mon"]}'})
    assert response.status_code == 302
    assert OrgSendingPolicy.objects.get(org=tenant_a.org).restrictions == {"closed_weekdays": ["mon"]}
    assert AuditEntry.objects.filter(org=tenant_a.org, action="compliance.sending_policy_set").exists()
    assert client.get("/admin/compliance/orgsendingpolicy/").status_code == 200
