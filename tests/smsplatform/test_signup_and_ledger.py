import pytest
from django.db import connection

from billing.models import CreditEntry
from billing.selectors import credits_balance, credits_ledger_sum
from billing.services import InsufficientCredits, credits_debit, credits_grant
from smsplatform.models import AuditEntry, Membership, Organisation, Role, User
from tests.conftest import signup_form

pytestmark = pytest.mark.django_db

SIGNUP = signup_form()


def test_signup_creates_user_org_owner_and_exactly_100_credits_shown_in_header(client):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302

    user = User.objects.get(email="elodie@example.fr")
    org = Organisation.objects.get(name="Salon Coiffure Élodie")
    assert Membership.objects.get(user=user, org=org).role == Role.OWNER
    assert credits_balance(org) == 100
    assert credits_ledger_sum(org) == 100
    assert list(CreditEntry.objects.filter(org=org).values_list("kind", "amount")) == [("grant", 100)]
    assert AuditEntry.objects.filter(org=org, action="organisation.created").exists()

    page = client.get("/")
    assert page.status_code == 200
    header = page.content.decode()
    assert 'id="credit-balance-value">100<' in header


def test_signup_with_a_known_email_creates_nothing_and_leaves_the_account_alone(client):
    client.post("/accounts/signup/", SIGNUP)
    holder = User.objects.get(email="elodie@example.fr")
    password_before = holder.password
    client.logout()
    response = client.post("/accounts/signup/", {**SIGNUP, "email": "ELODIE@example.fr", "org_name": "Autre"})
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert Organisation.objects.count() == 1
    holder.refresh_from_db()
    assert holder.password == password_before
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize("password", ["short1", "12345678901234", "password1234"])
def test_signup_refuses_a_weak_password_and_creates_nothing(client, password):
    response = client.post("/accounts/signup/", {**SIGNUP, "password1": password})
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert not User.objects.exists()
    assert not Organisation.objects.exists()


def test_signup_page_is_french_by_default_and_english_on_request(client):
    assert "Créer" in client.get("/accounts/signup/").content.decode()
    english = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Create your account" in english
    # The short address of flyers and earlier emails still leads there.
    assert client.get("/signup/")["Location"] == "/accounts/signup/"


def test_ledger_refuses_to_go_negative_and_keeps_sum_equal_to_balance(tenant_a):
    org = tenant_a.org
    credits_debit(org=org, amount=60, reference="campaign:1")
    with pytest.raises(InsufficientCredits):
        credits_debit(org=org, amount=41, reference="campaign:2")
    credits_grant(org=org, amount=5, reference="refund:1", kind="refund")
    assert credits_balance(org) == 45
    assert credits_ledger_sum(org) == 45


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_take_the_balance_below_zero():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises every writer anyway")
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from smsplatform.onboarding import signup

    _user, org = signup(email="race@example.com", password="Long-enough-pw-1", org_name="Race")

    def debit(i: int) -> bool:
        try:
            credits_debit(org=org, amount=7, reference=f"campaign:{i}")
            return True
        except InsufficientCredits:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(debit, range(40)))

    assert sum(outcomes) == 100 // 7
    assert credits_balance(org) == 100 - 7 * (100 // 7)
    assert credits_ledger_sum(org) == credits_balance(org)
