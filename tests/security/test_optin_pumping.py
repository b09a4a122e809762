"""Hole 2: SMS pumping through the public opt-in form ``/f/<slug>/``.

Each POST of the form texts a code at the shop's expense. A stranger must not be able to turn that into a
paid SMS cannon: the form is off until the owner turns it on, takes only the countries the shop sends to,
gives a number at most three codes a day and a shop a daily cap (with an alert), limits each visitor (its
real address behind the proxy), and asks the browser for a proof of work that cannot be replayed.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from campaigns.models import Message
from contacts import services
from contacts.models import OptInForm, PendingOptIn
from smsplatform.models import AuditEntry
from tests.conftest import make_tenant
from tests.optin_challenge import altcha_payload


@pytest.fixture
def client():
    # A visitor reading English: the assertions read the messages' source strings (the UI is French).
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def _cheap_challenge(settings):
    # The real algorithm and checks, at a difficulty a test solves in a few milliseconds.
    settings.OPTIN_CHALLENGE_COST = 10
    settings.OPTIN_CHALLENGE_MAX_NUMBER = 50


def _enable(org, **fields):
    form = services.optin_form_get(org=org)
    OptInForm.objects.filter(pk=form.pk).update(enabled=True, **fields)


def _post(client, org, phone, *, ip="198.51.100.7", altcha=None, **extra):
    url = f"/f/{org.slug}/"
    data = {"phone": phone, "first_name": "Zoé", "consent": "on"}
    data["altcha"] = altcha_payload(client, url, REMOTE_ADDR=ip, **extra) if altcha is None else altcha
    return client.post(url, data, REMOTE_ADDR=ip, **extra)


def _codes(org):
    return Message.objects.filter(org=org, category="transactional")


def test_a_new_organisation_has_its_form_off_until_the_owner_turns_it_on(client, tenant_a):
    org = tenant_a.org
    assert client.get(f"/f/{org.slug}/").status_code == 404
    assert _post(client, org, "06 12 34 56 78").status_code == 404
    assert not _codes(org).exists()

    owner = tenant_a.client()
    page = owner.get("/contacts/opt-in-form/").content.decode()
    assert 'data-testid="optin-toggle"' in page
    response = owner.post("/contacts/opt-in-form/", {"toggle": "on"})  # one click
    assert response.status_code == 302
    assert services.optin_form_get(org=org).enabled
    assert AuditEntry.objects.filter(org=org, action="optin_form.enabled").exists()
    assert client.get(f"/f/{org.slug}/").status_code == 200
    assert _post(client, org, "06 12 34 56 78").status_code == 302
    assert _codes(org).count() == 1

    assert owner.post("/contacts/opt-in-form/", {"toggle": "off"}).status_code == 302
    assert client.get(f"/f/{org.slug}/").status_code == 404


def test_the_migration_turns_off_the_forms_that_were_on_by_default(tenant_a, tenant_b):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("contacts.migrations.0002_optin_form_protections")
    _enable(tenant_a.org)
    _enable(tenant_b.org)
    migration.turn_off_every_form(apps, None)
    assert not OptInForm.objects.filter(enabled=True).exists()


def test_a_number_of_a_country_the_shop_does_not_send_to_gets_an_error_and_no_sms(client, tenant_a):
    org = tenant_a.org
    _enable(org)
    response = _post(client, org, "+44 7400 123456")
    assert response.status_code == 400
    assert "accepts mobile numbers from" in response.content.decode()
    assert not _codes(org).exists()
    assert not PendingOptIn.objects.filter(org=org).exists()
    # The overseas departments and regions are France: a shop of Réunion's customers sign up.
    assert _post(client, org, "+262 692 12 34 56").status_code == 302
    assert _codes(org).filter(to="+262692123456").exists()


def test_a_shop_chooses_the_countries_its_form_accepts(tenant_a):
    org = tenant_a.org
    owner = tenant_a.client()
    form = services.optin_form_get(org=org)
    assert "FR" in form.countries and "RE" in form.countries and "GB" not in form.countries
    response = owner.post("/contacts/opt-in-form/", {"wording": form.wording, "countries": "fr, be, XX"})
    assert response.status_code == 400 and "XX" in response.content.decode()
    response = owner.post("/contacts/opt-in-form/", {"wording": form.wording, "countries": "fr, be"})
    assert response.status_code == 302
    assert services.optin_form_get(org=org).countries == ["FR", "BE"]
    german_shop = make_tenant("Bäckerei Hans", "de", country="DE")
    assert services.optin_form_get(org=german_shop.org).countries == ["DE"]


def test_a_number_gets_at_most_three_codes_a_day(client, tenant_a):
    org = tenant_a.org
    _enable(org)
    statuses = [_post(client, org, "06 12 34 56 78", ip=f"198.51.100.{i}").status_code for i in range(5)]
    assert statuses == [302, 302, 302, 400, 400]
    assert _codes(org).filter(to="+33612345678").count() == 3
    response = _post(client, org, "06 12 34 56 78", ip="198.51.100.99")
    assert "already received" in response.content.decode()
    # Another shop's form is another count.
    other = make_tenant("Fromagerie", "c")
    _enable(other.org)
    assert _post(client, other.org, "06 12 34 56 78", ip="198.51.100.50").status_code == 302


def test_a_shop_daily_cap_refuses_clearly_and_alerts_the_owner_and_the_operator_once(
    client, tenant_a, settings, django_user_model
):
    settings.ADMINS = [("Ops", "ops@platform.example")]
    org = tenant_a.org
    _enable(org, daily_cap=2)
    assert _post(client, org, "0612345601", ip="198.51.100.1").status_code == 302
    assert _post(client, org, "0612345602", ip="198.51.100.2").status_code == 302
    mail.outbox.clear()
    refused = _post(client, org, "0612345603", ip="198.51.100.3")
    assert refused.status_code == 400
    assert "today" in refused.content.decode()
    assert _codes(org).count() == 2
    assert len(mail.outbox) == 1
    recipients = set(mail.outbox[0].to)
    assert tenant_a.owner.email in recipients and "ops@platform.example" in recipients
    assert _post(client, org, "0612345604", ip="198.51.100.4").status_code == 400
    assert len(mail.outbox) == 1  # once a day
    assert AuditEntry.objects.filter(org=org, action="optin_form.daily_cap_reached").count() == 1


def test_the_alert_goes_to_superusers_when_no_admins_are_configured(client, tenant_a, settings):
    from smsplatform.models import User

    settings.ADMINS = []
    User.objects.create_superuser(email="root@platform.example", password="Long-enough-pw-1")
    org = tenant_a.org
    _enable(org, daily_cap=0)
    assert _post(client, org, "0612345601").status_code == 400
    assert mail.outbox and "root@platform.example" in mail.outbox[0].to


def test_the_operator_edits_the_daily_cap_and_the_owner_cannot(tenant_a, operator_client):
    org = tenant_a.org
    form = services.optin_form_get(org=org)
    assert form.daily_cap == 200
    owner = tenant_a.client()
    owner.post("/contacts/opt-in-form/", {"wording": form.wording, "countries": "FR", "daily_cap": "100000"})
    assert services.optin_form_get(org=org).daily_cap == 200
    url = f"/admin/contacts/optinform/{form.pk}/change/"
    assert operator_client.get(url).status_code == 200
    response = operator_client.post(url, {"daily_cap": "500"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert services.optin_form_get(org=org).daily_cap == 500
    assert AuditEntry.objects.filter(org=org, action="optin_form.daily_cap_changed").exists()


def test_the_per_visitor_limit_uses_the_client_address_behind_the_trusted_proxy(client, tenant_a, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.OPTIN_RATE_LIMIT_PER_HOUR = 2
    org = tenant_a.org
    _enable(org)

    def via_proxy(phone, visitor):
        return _post(client, org, phone, ip="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{visitor}, 10.0.0.3")

    # Two visitors behind the same proxy have a bucket each...
    assert via_proxy("0612345601", "203.0.113.1").status_code == 302
    assert via_proxy("0612345602", "203.0.113.1").status_code == 302
    assert via_proxy("0612345603", "203.0.113.2").status_code == 302
    # ...and the third code of one of them within the hour is refused, whatever the number.
    assert via_proxy("0612345604", "203.0.113.1").status_code == 429
    assert PendingOptIn.objects.filter(org=org, phone="+33612345601").get().ip_address == "203.0.113.1"
    # X-Forwarded-For from someone who is not a trusted proxy is not believed.
    spoofed = [
        _post(client, org, f"06123456{i}", ip="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{100 + i}")
        for i in (10, 11, 12)
    ]
    assert [r.status_code for r in spoofed] == [302, 302, 429]


def test_the_per_visitor_limit_counts_an_ipv6_subscriber_as_one_visitor(client, tenant_a, settings):
    settings.OPTIN_RATE_LIMIT_PER_HOUR = 2
    org = tenant_a.org
    _enable(org)
    # Addresses of one /64 (one subscriber's network) share a bucket.
    statuses = [_post(client, org, f"06123456{i}", ip=f"2001:db8:1:2::{i}").status_code for i in (10, 11, 12)]
    assert statuses == [302, 302, 429]
    assert _post(client, org, "0612345613", ip="2001:db8:1:3::1").status_code == 302


def test_a_post_without_a_solved_challenge_sends_nothing(client, tenant_a):
    org = tenant_a.org
    _enable(org)
    for payload in ("", "bm90IGEgcGF5bG9hZA==", "{}", "e30=", "x" * 10_000):
        response = _post(client, org, "06 12 34 56 78", altcha=payload)
        assert response.status_code == 400
        assert "verification" in response.content.decode().lower()
    # The honeypot stays: a bot that fills it gets the form back, as if signed up, and no SMS.
    url = f"/f/{org.slug}/"
    data = {"phone": "0612345678", "consent": "on", "website": "http://spam.example"}
    data["altcha"] = altcha_payload(client, url)
    assert client.post(url, data).status_code == 302
    assert not _codes(org).exists()


def test_a_solved_challenge_works_once(client, tenant_a):
    org = tenant_a.org
    _enable(org)
    payload = altcha_payload(client, f"/f/{org.slug}/")
    assert payload
    assert _post(client, org, "0612345601", altcha=payload).status_code == 302
    replay = _post(client, org, "0612345602", altcha=payload)
    assert replay.status_code == 400
    assert _codes(org).count() == 1


def test_a_challenge_of_one_shop_does_not_open_another(client, tenant_a, tenant_b):
    _enable(tenant_a.org)
    _enable(tenant_b.org)
    payload = altcha_payload(client, f"/f/{tenant_a.org.slug}/")
    assert _post(client, tenant_b.org, "0612345601", altcha=payload).status_code == 400
    assert not _codes(tenant_b.org).exists()


def test_the_challenge_endpoint_serves_a_signed_json_challenge_only_for_an_open_form(client, tenant_a):
    org = tenant_a.org
    assert client.get(f"/f/{org.slug}/challenge/").status_code == 404
    _enable(org)
    response = client.get(f"/f/{org.slug}/challenge/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Cache-Control"].startswith("no-store")
    body = response.json()
    assert body["signature"] and body["parameters"]["algorithm"] == "PBKDF2/SHA-256"
    assert body["parameters"]["expiresAt"]


def test_the_form_page_loads_the_widget_from_our_static_files_without_inline_script(client, tenant_a):
    org = tenant_a.org
    _enable(org)
    response = client.get(f"/f/{org.slug}/")
    page = response.content.decode()
    assert "<altcha-widget" in page and f"/f/{org.slug}/challenge/" in page
    assert "/static/vendor/altcha/" in page
    assert "<script>" not in page and "onload=" not in page
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_default_difficulty_is_solved_by_the_library_solver(client, tenant_a, settings):
    from smsplatform import settings as project

    settings.OPTIN_CHALLENGE_COST = project.OPTIN_CHALLENGE_COST
    settings.OPTIN_CHALLENGE_MAX_NUMBER = project.OPTIN_CHALLENGE_MAX_NUMBER
    org = tenant_a.org
    _enable(org)
    assert _post(client, org, "0612345678").status_code == 302
