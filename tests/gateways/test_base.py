"""The gateway registry, the console adapter and the signing helpers."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.test import RequestFactory

from campaigns.gateways import (
    ACCEPTED,
    Gateway,
    GatewayConfigurationError,
    InboundSms,
    OutboundSms,
    Receipt,
    SendResult,
    available_gateways,
    get_gateway,
    register_gateway,
    signing,
    webhook_url,
)
from campaigns.gateways.console import ConsoleGateway
from campaigns.gateways.loopback import LoopbackGateway


def test_get_gateway_reads_sms_gateway_and_caches(settings: Any) -> None:
    settings.SMS_GATEWAY = "console"
    gateway = get_gateway()
    assert isinstance(gateway, ConsoleGateway)
    assert get_gateway() is gateway
    assert get_gateway("console") is gateway


def test_changing_a_setting_rebuilds_the_adapter(settings: Any) -> None:
    settings.LOOPBACK_GATEWAY_URL = "http://127.0.0.1:1"
    first = get_gateway("loopback")
    settings.LOOPBACK_GATEWAY_URL = "http://127.0.0.1:2"
    second = get_gateway("loopback")
    assert isinstance(second, LoopbackGateway)
    assert first is not second and second.base_url == "http://127.0.0.1:2"


def test_unknown_gateway_is_a_configuration_error() -> None:
    with pytest.raises(GatewayConfigurationError, match="unknown SMS gateway 'carrier-pigeon'"):
        get_gateway("carrier-pigeon")
    assert {"console", "loopback", "twilio"} <= set(available_gateways())


def test_register_gateway() -> None:
    class Recorder(Gateway):
        name = "recorder"

        def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
            return [SendResult(m.client_ref, "r-" + m.client_ref, ACCEPTED) for m in messages]

        def parse_receipts(self, request: Any) -> list[Receipt]:
            return []

        def parse_inbound(self, request: Any) -> list[InboundSms]:
            return []

        def verify_webhook(self, request: Any) -> bool:
            return False

    register_gateway("recorder", Recorder)
    gateway = get_gateway("recorder")
    assert gateway.send_batch([OutboundSms("1", "+33612345678", "SHOP", "hi")])[0].provider_id == "r-1"
    assert not gateway.supports_lookup
    with pytest.raises(NotImplementedError):
        gateway.lookup_sent(["1"])


def test_webhook_url_follows_site_url(settings: Any) -> None:
    settings.SITE_URL = "https://sms.example.com/"
    assert webhook_url("loopback", "status") == "https://sms.example.com/webhooks/sms/loopback/status"
    assert (
        get_gateway("console").webhook_url("inbound")
        == "https://sms.example.com/webhooks/sms/console/inbound"
    )


def test_console_logs_and_accepts_everything(caplog: pytest.LogCaptureFixture) -> None:
    messages = [OutboundSms(str(i), f"+3361234567{i}", "SHOP", f"Promo {i}") for i in range(3)]
    with caplog.at_level(logging.INFO, logger="campaigns.gateways.console"):
        results = ConsoleGateway().send_batch(messages)
    assert [r.client_ref for r in results] == ["0", "1", "2"]
    assert all(r.status == ACCEPTED and r.provider_id for r in results)
    assert len({r.provider_id for r in results}) == 3
    assert "Promo 1" in caplog.text and "+33612345671" in caplog.text


def test_console_accepts_no_webhook() -> None:
    request = RequestFactory().post(
        "/webhooks/sms/console/status", data=b"{}", content_type="application/json"
    )
    gateway = ConsoleGateway()
    assert not gateway.verify_webhook(request)
    assert gateway.parse_receipts(request) == [] and gateway.parse_inbound(request) == []


def test_send_result_flags() -> None:
    assert SendResult("1", "p", "accepted").accepted
    assert SendResult("1", None, "transient_error").retryable
    assert not SendResult("1", None, "permanent_error").retryable


# ---- signing ---------------------------------------------------------------------------------------------


def test_sign_then_verify() -> None:
    body = b'{"a": 1}'
    headers = signing.sign(body, "s3cret")
    ts, sig = headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER]
    assert signing.verify(body, ts, sig, "s3cret")
    assert not signing.verify(body + b" ", ts, sig, "s3cret")
    assert not signing.verify(body, ts, sig, "other")
    assert not signing.verify(body, str(int(ts) + 1), sig, "s3cret")  # the timestamp is signed
    assert not signing.verify(body, None, sig, "s3cret")
    assert not signing.verify(body, "not-a-number", sig, "s3cret")
    assert not signing.verify(body, ts, sig, "")  # an empty secret never authenticates anything


def test_timestamps_outside_five_minutes_are_refused() -> None:
    body = b"{}"
    now = time.time()
    old = signing.sign(body, "k", timestamp=int(now) - 301)
    recent = signing.sign(body, "k", timestamp=int(now) - 299)
    future = signing.sign(body, "k", timestamp=int(now) + 301)

    def check(headers: dict[str, str]) -> bool:
        return signing.verify(
            body, headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER], "k", now=now
        )

    assert not check(old)
    assert check(recent)
    assert not check(future)


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000." + b"payload", hashlib.sha256).hexdigest()
    assert signing.compute_signature("k", "1700000000", b"payload") == expected


def test_verify_request_uses_the_setting(settings: Any) -> None:
    settings.GATEWAY_WEBHOOK_SECRET = "from-settings"
    body = b'{"receipts": []}'
    request = RequestFactory().post(
        "/w", data=body, content_type="application/json", headers=signing.sign(body, "from-settings")
    )
    assert signing.verify_request(request)
    assert not signing.verify_request(request, secret="another")
