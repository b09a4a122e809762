"""The sign-up page shows every problem at once and keeps what was typed; the terms are a page; the
dashboard tells one story (import, compose, schedule or send, results) and shows no rates of nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from campaigns.models import CampaignStatus

pytestmark = pytest.mark.django_db

TYPED = "Un-long-mot-de-passe-7"


def test_sign_up_with_several_mistakes_lists_them_all_and_keeps_the_password():
    response = Client().post(
        "/accounts/signup/",
        {"org_name": "", "email": "not-an-address", "password1": TYPED, "country": "FR"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"org_name", "email", "accept_terms"}
    html = response.content.decode()
    for field in ("org_name", "email", "accept_terms"):
        assert f'id="id_{field}_error"' in html  # the id Django's aria-describedby names
    assert f'value="{TYPED}"' in html  # the password comes back: nothing to retype
    assert 'data-testid="signup-errors"' in html
    assert not mail.outbox


def test_a_weak_password_is_reported_with_the_other_errors():
    response = Client().post(
        "/accounts/signup/",
        {"org_name": "", "email": "owner@lilas.example", "password1": "123", "country": "FR"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    errors = response.context["form"].errors
    assert {"org_name", "password1", "accept_terms"} <= set(errors)
    assert any("too short" in e for e in errors["password1"])


def test_the_terms_are_a_link_to_a_page_that_says_they_are_the_operators_to_write():
    html = Client().get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<a href="/terms/" target="_blank" rel="noopener">conditions d&#x27;utilisation</a>' in html or (
        '<a href="/terms/" target="_blank" rel="noopener">conditions d\'utilisation</a>' in html
    )
    for language, words in (("fr", "l'exploitant de ce service doit publier"), ("en", "the operator of")):
        page = Client().get("/terms/", HTTP_ACCEPT_LANGUAGE=language)
        assert page.status_code == 200
        assert words in page.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("language", "empty", "rate"),
    [
        ("fr", "Vos statistiques apparaîtront après votre premier envoi", "taux de délivrance"),
        ("en", "Your statistics will appear after your first send", "delivery rate"),
    ],
)
def test_a_new_shop_sees_an_empty_state_not_zero_rates(tenant_a, language, empty, rate):
    client = Client()
    client.force_login(tenant_a.owner)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert empty in html
    assert 'data-testid="dash-delivery-rate"' not in html and rate not in html
    assert 'data-testid="dashboard-buy-credits"' in html


def test_the_dashboard_steps_end_with_the_results_not_with_buying_credits(tenant_a):
    client = tenant_a.client()
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    steps = response.context["checklist"]
    assert [s["key"] for s in steps] == ["import", "message", "campaign", "results"]
    assert steps[-1]["url"] == "/reports/" and not steps[-1]["done"]
    html = response.content.decode()
    assert "Voir vos statistiques" in html
    assert "Acheter des crédits" in html.split('data-testid="onboarding"', 1)[0] + html.split("</ol>", 1)[1]


def test_the_results_step_is_done_once_a_campaign_is_completed(tenant_a):
    from campaigns.models import Campaign

    Campaign.objects.create(org=tenant_a.org, name="Soldes", body="Soldes", status=CampaignStatus.COMPLETED)
    steps = {s["key"]: s["done"] for s in tenant_a.client().get("/").context["checklist"]}
    assert steps["campaign"] and steps["results"]
