"""Production settings: secure by default, and refusing to start without a secret."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a production deployment sets besides DJANGO_ENV (docker-compose.yml asks for each of them).
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-0123456789",
    "GATEWAY_WEBHOOK_SECRET": "w" * 20 + "-a-different-webhook-secret-0123456789",
    "STRIPE_SECRET_KEY": "sk_live_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
    "ALLOWED_HOSTS": "sms.example.com",
    "INVOICE_ISSUER_NAME": "Boutique SMS SAS",
    "INVOICE_ISSUER_ADDRESS": "3 quai des Chartrons\\n33000 Bordeaux\\nFrance",
    "INVOICE_ISSUER_SIREN": "912 345 678",
    "INVOICE_ISSUER_VAT_NUMBER": "FR32912345678",
    "INVOICE_ISSUER_EMAIL": "factures@boutique-sms.fr",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests allow async-unsafe calls in this process; a deployment never does.
    unwanted = (
        *PRODUCTION_ENV,
        "INVOICE_ISSUER_CODE",
        "DEBUG",
        "PAYMENT_ADAPTER",
        "TRUSTED_PROXIES",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings_and_a_secret():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_while_the_invoice_issuer_is_a_placeholder():
    env = {
        k: v for k, v in PRODUCTION_ENV.items() if k not in ("INVOICE_ISSUER_SIREN", "INVOICE_ISSUER_NAME")
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env, INVOICE_ISSUER_NAME="")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "billing.W002" in output
    assert "INVOICE_ISSUER_NAME, INVOICE_ISSUER_SIREN still hold their development placeholder" in output


def test_settings_are_read_from_the_environment():
    code = (
        "import django,json;django.setup();from django.conf import settings as s;"
        "print(json.dumps([s.INVOICE_ISSUER_ADDRESS, s.INVOICE_ISSUER_SIREN, s.CAMPAIGN_BATCH_SIZE,"
        " s.IMPORT_CHUNK_ROWS, s.LOOPBACK_GATEWAY_TIMEOUT]))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    clean.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="smsplatform.settings")
    clean.update(CAMPAIGN_BATCH_SIZE="250", IMPORT_CHUNK_ROWS="5000", LOOPBACK_READ_TIMEOUT="45")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    # The address's `\\n` become line breaks on the invoice.
    assert json.loads(out.stdout) == [
        "3 quai des Chartrons\n33000 Bordeaux\nFrance",
        "912 345 678",
        250,
        5000,
        [3.0, 45.0],
    ]


def test_production_without_secret_key_fails_with_a_clear_message():
    result = run_manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="sms.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_sends_security_headers():
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.DEBUG)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    clean.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="smsplatform.settings")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["True", "True", "True", "False"], out.stderr


def test_pages_carry_a_content_security_policy(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert response["X-Frame-Options"] == "DENY"
