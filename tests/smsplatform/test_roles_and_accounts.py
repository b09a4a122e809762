import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from smsplatform.models import ApiKey, AuditEntry, Membership, Role, User
from smsplatform.services import invitation_create
from smsplatform.tenancy import TenantAPIView

pytestmark = pytest.mark.django_db

MANAGE_PAGES = ["/settings/members/", "/settings/api-keys/", "/settings/audit/"]


@pytest.mark.parametrize(
    "role,expected", [("owner", 200), ("admin", 200), ("marketer", 403), ("analyst", 403)]
)
def test_only_owners_and_admins_manage_users_keys_and_audit(tenant_a, role, expected):
    client = tenant_a.client(role)
    for url in MANAGE_PAGES:
        assert client.get(url).status_code == expected, url


def test_analyst_reads_settings_but_cannot_change_them(tenant_a):
    client = tenant_a.client(Role.ANALYST)
    assert client.get("/settings/").status_code == 200
    response = client.post("/settings/", {"name": "Hacked"})
    assert response.status_code == 403
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.name == "Fleurs de Lys"


def test_marketer_cannot_create_api_keys(tenant_a):
    response = tenant_a.client(Role.MARKETER).post("/settings/api-keys/", {"name": "x", "role": "admin"})
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_owner_creates_a_key_shown_once(tenant_a):
    client = tenant_a.client(Role.OWNER)
    response = client.post("/settings/api-keys/", {"name": "Caisse", "role": "analyst"})
    raw = re.search(r'data-testid="new-api-key">([^<]+)<', response.content.decode()).group(1)
    assert raw.startswith("sk_")
    assert raw not in client.get("/settings/api-keys/").content.decode()
    assert AuditEntry.objects.filter(org=tenant_a.org, action="api_key.created").exists()


def test_read_only_api_key_cannot_write(tenant_a):
    api = tenant_a.api(Role.ANALYST)
    assert api.get("/api/v1/account").status_code == 200
    assert api.post("/api/v1/optouts", {"phone": "+33612345678"}, format="json").status_code in (403, 404)


def test_unauthenticated_pages_redirect_to_login(client):
    for url in ["/", "/settings/", *MANAGE_PAGES]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_invitation_by_email_joins_the_organisation_with_its_role(
    tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = invitation_create(
            org=tenant_a.org, actor=tenant_a.owner, email="new@example.com", role=Role.MARKETER
        )
    assert len(mail.outbox) == 1
    assert created.url in mail.outbox[0].body
    token_path = urlparse(created.url).path
    client = Client()
    assert client.get(token_path).status_code == 200
    # The link leads to allauth's sign-up, which asks only for a password: the address is the invited one.
    form = client.get("/accounts/signup/").content.decode()
    assert "new@example.com" in form and 'name="org_name"' not in form
    response = client.post(
        "/accounts/signup/",
        {"email": "intruder@example.com", "password1": "Another-long-pw-9", "accept_terms": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new@example.com")
    assert not User.objects.filter(email="intruder@example.com").exists()
    assert Membership.objects.get(user=user, org=tenant_a.org).role == Role.MARKETER
    # No organisation of their own, and the address counts as verified: the invitation proved it.
    assert Membership.objects.filter(user=user).count() == 1
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").status_code == 200
    # Used once: the link is now dead.
    assert Client().get(token_path).status_code == 404


def test_a_user_in_two_organisations_switches_between_them(tenant_a, tenant_b):
    Membership.objects.create(org=tenant_b.org, user=tenant_a.owner, role=Role.ANALYST)
    client = tenant_a.client()
    assert "Fleurs de Lys" in client.get("/settings/").content.decode()
    client.post("/org/switch/", {"org": tenant_b.org.pk, "next": "/settings/"})
    page = client.get("/settings/").content.decode()
    assert 'value="Boulangerie Martin"' in page
    # Switching to an organisation one does not belong to does nothing.
    outsider = tenant_b.client(Role.ANALYST)
    outsider.post("/org/switch/", {"org": tenant_a.org.pk})
    assert 'value="Boulangerie Martin"' in outsider.get("/settings/").content.decode()


def test_last_owner_cannot_be_demoted(tenant_a):
    owner_membership = Membership.objects.get(org=tenant_a.org, user=tenant_a.owner)
    client = tenant_a.client(Role.ADMIN)
    client.post(f"/settings/members/{owner_membership.pk}/role/", {"role": "analyst"})
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER


def test_login_with_email(tenant_a):
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": tenant_a.owner.email.upper(), "password": "Long-enough-pw-1"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_tenant_views_cannot_override_the_scoped_queryset():
    with pytest.raises(ImproperlyConfigured):

        class Leaky(TenantAPIView):  # noqa: F841
            def get_queryset(self):
                return User.objects.all()


def test_audit_page_lists_what_services_recorded(tenant_a):
    page = tenant_a.client().get("/settings/audit/").content.decode()
    assert "organisation.created" in page
    assert "credits.grant" in page
