"""Hole 1 (free credits in production) and the settings part of hole 11 (webhook secret, proxy header).

Settings are read once per process, so each deployment shape is tried in a subprocess, as a deployment
would start it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import Client, RequestFactory

from billing.models import CreditPack, Purchase
from billing.payments import PaymentError, get_payment_adapter
from smsplatform.client_ip import client_ip
from tests.smsplatform.test_settings import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]
READ_SETTINGS = (
    "import django;django.setup();from django.conf import settings as s;"
    "print(s.PAYMENT_ADAPTER, bool(s.STRIPE_SECRET_KEY), bool(s.STRIPE_WEBHOOK_SECRET),"
    " s.GATEWAY_WEBHOOK_SECRET == s.SECRET_KEY, getattr(s, 'SECURE_PROXY_SSL_HEADER', None) is not None)"
)


def start(**env: str) -> subprocess.CompletedProcess:
    """Imports the settings as a deployment with exactly ``env`` would."""
    scrubbed = (*PRODUCTION_ENV, "DEBUG", "PAYMENT_ADAPTER", "TRUSTED_PROXIES", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in scrubbed}
    clean.update(env, DJANGO_SETTINGS_MODULE="smsplatform.settings")
    return subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- hole 1: payments -----------------------------------------------------------------------------


def test_production_pays_with_stripe_by_default_and_reads_its_keys_from_the_environment():
    result = start(**PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    adapter, has_key, has_webhook_secret, *_ = result.stdout.split()
    assert (adapter, has_key, has_webhook_secret) == ("stripe", "True", "True")


def test_production_refuses_to_start_with_the_fake_adapter():
    result = start(**PRODUCTION_ENV, PAYMENT_ADAPTER="fake")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PAYMENT_ADAPTER=fake" in result.stderr


def test_an_unknown_adapter_is_refused_at_start():
    result = start(**PRODUCTION_ENV, PAYMENT_ADAPTER="paypal")
    assert result.returncode != 0
    assert "PAYMENT_ADAPTER must be one of" in result.stderr


def test_development_can_switch_to_stripe_from_the_environment():
    result = start(DJANGO_ENV="development", PAYMENT_ADAPTER="stripe", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["stripe", "False", "True"]


def test_check_deploy_warns_when_stripe_keys_are_missing():
    env = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("STRIPE_")}
    scrubbed = (*PRODUCTION_ENV, "DEBUG", "PAYMENT_ADAPTER", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in scrubbed}
    clean.update(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "billing.W001" in result.stdout + result.stderr


def test_compose_production_shape_pays_with_stripe():
    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["environment"]
    assert env["PAYMENT_ADAPTER"] == "${PAYMENT_ADAPTER:-stripe}"
    assert env["DJANGO_ENV"] == "production"


@pytest.mark.django_db
def test_the_fake_checkout_does_not_exist_once_stripe_is_configured(tenant_a, settings):
    settings.PAYMENT_ADAPTER = "fake"
    client = tenant_a.client()
    pack, _ = CreditPack.objects.get_or_create(credits=1000, defaults={"price_ht_cents": 5500})
    response = client.post("/billing/buy/", {"pack": pack.pk})
    purchase = Purchase.objects.get(org=tenant_a.org)
    assert response.status_code == 302 and f"/billing/purchases/{purchase.pk}/fake-checkout/" in response.url
    settings.PAYMENT_ADAPTER = "stripe"
    assert client.get(f"/billing/purchases/{purchase.pk}/fake-checkout/").status_code == 404
    assert client.post(f"/billing/purchases/{purchase.pk}/fake-checkout/").status_code == 404
    purchase.refresh_from_db()
    assert purchase.status == "pending"


def test_the_fake_adapter_is_refused_by_a_production_process(settings):
    settings.PAYMENT_ADAPTER = "fake"
    settings.PRODUCTION = True
    with pytest.raises(PaymentError):
        get_payment_adapter()


# --- hole 11: the webhook secret and the proxy headers ----------------------------------------------


def test_production_requires_a_webhook_secret_of_its_own():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "GATEWAY_WEBHOOK_SECRET"}
    result = start(**env)
    assert result.returncode != 0
    assert "GATEWAY_WEBHOOK_SECRET is not set" in result.stderr
    same = start(**{**PRODUCTION_ENV, "GATEWAY_WEBHOOK_SECRET": PRODUCTION_ENV["SECRET_KEY"]})
    assert same.returncode != 0
    assert "must differ from SECRET_KEY" in same.stderr


def test_development_webhook_secret_is_not_the_django_secret():
    result = start(DJANGO_ENV="development")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[3] == "False"


def test_the_loopback_container_does_not_hold_the_django_secret():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["gateway"]["environment"]["SECRET_KEY"] != services["web"]["environment"]["SECRET_KEY"]
    assert (
        services["gateway"]["environment"]["GATEWAY_WEBHOOK_SECRET"]
        == (services["web"]["environment"]["GATEWAY_WEBHOOK_SECRET"])
    )


def test_the_proxy_ssl_header_is_trusted_only_behind_a_configured_proxy():
    assert start(**PRODUCTION_ENV).stdout.split()[4] == "False"
    assert start(**PRODUCTION_ENV, TRUSTED_PROXIES="10.0.0.2").stdout.split()[4] == "True"


@pytest.mark.django_db
def test_a_forged_forwarded_proto_from_an_untrusted_peer_is_dropped(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    # From the Internet: the header is a lie, the request is plain HTTP and gets redirected to HTTPS.
    direct = Client(REMOTE_ADDR="203.0.113.7").get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert direct.status_code == 301
    # From the proxy: believed.
    proxied = Client(REMOTE_ADDR="10.0.0.2").get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


def test_client_ip_believes_forwarded_for_only_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    factory = RequestFactory()
    forged = factory.get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(forged) == "203.0.113.7"
    # Behind the proxy, the rightmost untrusted hop is the client; what it wrote to the left is ignored.
    proxied = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9, 10.0.0.5")
    assert client_ip(proxied) == "198.51.100.9"
    garbage = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(garbage) == "10.0.0.2"
