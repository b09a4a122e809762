"""Production settings: secure by default, and refusing to start without a secret."""

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
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests allow async-unsafe calls in this process; a deployment never does.
    unwanted = (*PRODUCTION_ENV, "DEBUG", "PAYMENT_ADAPTER", "TRUSTED_PROXIES", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings_and_a_secret():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


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
