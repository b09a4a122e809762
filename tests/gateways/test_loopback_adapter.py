"""The ``loopback`` adapter against a running loopback server, and its webhook side."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.test import RequestFactory

from campaigns.gateways import (
    ACCEPTED,
    PERMANENT_ERROR,
    TRANSIENT_ERROR,
    OutboundSms,
    WebhookError,
    get_gateway,
    signing,
)
from campaigns.gateways.loopback import LoopbackGateway
from campaigns.gateways.loopback_server import LoopbackServer

from .conftest import SECRET, Received, WebhookReceiver, wait_for


def outbound(n: int, to: str | None = None) -> list[OutboundSms]:
    return [OutboundSms(f"ref-{i}", to or f"+3361200{i:04d}", "SHOP", f"Promo {i}") for i in range(n)]


def signed_post(path: str, body: bytes, secret: str = SECRET, timestamp: int | None = None):
    headers = signing.sign(body, secret, timestamp)
    return RequestFactory().post(
        path,
        data=body,
        content_type="application/json",
        headers=headers,
    )


def as_django_request(post: Received):
    """Replay a webhook the receiver got as the Django request the platform's view would see."""
    headers = {k: v for k, v in post.headers.items() if k.lower().startswith("x-loopback-")}
    return RequestFactory().post(post.path, data=post.body, content_type="application/json", headers=headers)


# ---- sending ---------------------------------------------------------------------------------------------


def test_send_batch_maps_accepted_results(loopback: LoopbackServer) -> None:
    gateway = LoopbackGateway(base_url=loopback.url)
    results = gateway.send_batch(outbound(4))
    assert [r.client_ref for r in results] == ["ref-0", "ref-1", "ref-2", "ref-3"]
    assert all(r.status == ACCEPTED and r.accepted and r.provider_id for r in results)
    recorded = {m["client_ref"]: m["id"] for m in loopback.messages()}
    assert recorded == {r.client_ref: r.provider_id for r in results}
    assert loopback.messages()[0]["from"] == "SHOP"


def test_empty_batch_makes_no_call(loopback: LoopbackServer) -> None:
    assert LoopbackGateway(base_url=loopback.url).send_batch([]) == []


def test_permanent_failures_carry_the_provider_code(make_loopback) -> None:
    server = make_loopback(fail_rate=1.0, permanent_share=1.0)
    results = LoopbackGateway(base_url=server.url).send_batch(outbound(3))
    assert {r.status for r in results} == {PERMANENT_ERROR}
    assert {r.error_code for r in results} == {"invalid_destination"}
    assert not any(r.retryable for r in results)


def test_transient_failures_are_retryable(make_loopback) -> None:
    server = make_loopback(fail_rate=1.0, permanent_share=0.0)
    results = LoopbackGateway(base_url=server.url).send_batch(outbound(3))
    assert {r.status for r in results} == {TRANSIENT_ERROR}
    assert all(r.retryable and r.error_code == "temporarily_unavailable" for r in results)


def test_mixed_batch_keeps_each_result_with_its_message(make_loopback) -> None:
    server = make_loopback(fail_rate=0.5, permanent_share=0.5, seed=7)
    messages = outbound(60)
    results = LoopbackGateway(base_url=server.url).send_batch(messages)
    assert [r.client_ref for r in results] == [m.client_ref for m in messages]
    accepted = {r.client_ref for r in results if r.accepted}
    assert accepted == {m["client_ref"] for m in server.messages()}
    assert {r.status for r in results} == {ACCEPTED, TRANSIENT_ERROR, PERMANENT_ERROR}


def test_unreachable_server_is_transient_for_all() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    results = LoopbackGateway(base_url=dead, timeout=(1, 1)).send_batch(outbound(3))
    assert {r.status for r in results} == {TRANSIENT_ERROR}
    assert {r.error_code for r in results} == {"network_error"}
    assert all(r.provider_id is None for r in results)


def test_timeout_after_acceptance_is_transient_and_reconcilable(make_loopback) -> None:
    server = make_loopback(response_delay=1.0)
    gateway = LoopbackGateway(base_url=server.url, timeout=(1, 0.2))
    results = gateway.send_batch(outbound(2))
    assert {r.status for r in results} == {TRANSIENT_ERROR}
    # The provider did record them: the pipeline must find that out instead of sending again.
    server.control({"response_delay": 0})
    assert gateway.lookup_sent(["ref-0", "ref-1", "ref-9"]) == {
        m["client_ref"]: m["id"] for m in server.messages()
    }
    assert set(gateway.lookup_sent(["ref-0", "ref-1", "ref-9"])) == {"ref-0", "ref-1"}


class _FixedStatusHandler(BaseHTTPRequestHandler):
    status = 500
    body = b'{"error": "boom"}'

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def fixed_status_server() -> Iterator[Any]:
    """A fake provider that answers every POST with a chosen status and body."""

    def make(status: int, body: bytes = b'{"error": "boom"}') -> str:
        handler = type("H", (_FixedStatusHandler,), {"status": status, "body": body})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    servers: list[ThreadingHTTPServer] = []
    yield make
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (500, b"{}", TRANSIENT_ERROR, "http_500"),
        (503, b"{}", TRANSIENT_ERROR, "http_503"),
        (429, b"{}", TRANSIENT_ERROR, "http_429"),
        (400, b'{"error": "bad"}', PERMANENT_ERROR, "http_400"),
        (200, b"<html>", TRANSIENT_ERROR, "bad_response"),
        (200, b'{"results": []}', TRANSIENT_ERROR, "missing_result"),
    ],
)
def test_http_errors_map_to_transient_or_permanent(fixed_status_server, status, body, expected, code) -> None:
    url = fixed_status_server(status, body)
    results = LoopbackGateway(base_url=url).send_batch(outbound(2))
    assert {r.status for r in results} == {expected}
    assert {r.error_code for r in results} == {code}


def test_get_gateway_builds_the_loopback_adapter_from_settings(settings, loopback: LoopbackServer) -> None:
    settings.SMS_GATEWAY = "loopback"
    settings.LOOPBACK_GATEWAY_URL = loopback.url
    gateway = get_gateway()
    assert isinstance(gateway, LoopbackGateway)
    assert gateway.base_url == loopback.url
    assert gateway.send_batch(outbound(1))[0].accepted


# ---- webhooks --------------------------------------------------------------------------------------------


def test_signed_webhook_verifies() -> None:
    body = json.dumps({"receipts": []}).encode()
    assert LoopbackGateway(base_url="http://unused").verify_webhook(
        signed_post("/webhooks/sms/loopback/status", body)
    )


def test_tampered_body_fails_verification() -> None:
    body = json.dumps({"receipts": [{"id": "lb-1", "status": "delivered"}]}).encode()
    request = signed_post("/webhooks/sms/loopback/status", body)
    tampered = RequestFactory().post(
        "/webhooks/sms/loopback/status",
        data=body.replace(b"delivered", b"undelivered"),
        content_type="application/json",
        headers={
            signing.TIMESTAMP_HEADER: request.headers[signing.TIMESTAMP_HEADER],
            signing.SIGNATURE_HEADER: request.headers[signing.SIGNATURE_HEADER],
        },
    )
    assert not LoopbackGateway(base_url="http://unused").verify_webhook(tampered)


def test_old_timestamp_fails_verification() -> None:
    body = b'{"receipts": []}'
    request = signed_post("/webhooks/sms/loopback/status", body, timestamp=int(time.time()) - 301)
    assert not LoopbackGateway(base_url="http://unused").verify_webhook(request)


def test_wrong_secret_and_missing_headers_fail_verification() -> None:
    body = b'{"receipts": []}'
    gateway = LoopbackGateway(base_url="http://unused")
    assert not gateway.verify_webhook(signed_post("/x", body, secret="someone-else"))
    unsigned = RequestFactory().post("/x", data=body, content_type="application/json")
    assert not gateway.verify_webhook(unsigned)


def test_parse_receipts() -> None:
    body = json.dumps(
        {
            "receipts": [
                {
                    "id": "lb-1",
                    "client_ref": "42",
                    "status": "delivered",
                    "error_code": "",
                    "occurred_at": "2025-06-01T10:00:00.000+00:00",
                },
                {
                    "id": "lb-2",
                    "client_ref": None,
                    "status": "undelivered",
                    "error_code": "handset_off",
                },
            ]
        }
    ).encode()
    receipts = LoopbackGateway(base_url="http://unused").parse_receipts(signed_post("/s", body))
    assert [(r.provider_id, r.client_ref, r.status, r.error_code) for r in receipts] == [
        ("lb-1", "42", "delivered", ""),
        ("lb-2", None, "undelivered", "handset_off"),
    ]
    assert receipts[0].occurred_at == datetime.fromisoformat("2025-06-01T10:00:00+00:00")
    assert receipts[1].occurred_at is not None and receipts[1].occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"receipts": "x"}', b'{"receipts": [{"id": "lb-1", "status": "lost"}]}'],
)
def test_malformed_receipts_raise_webhook_error(body: bytes) -> None:
    with pytest.raises(WebhookError):
        LoopbackGateway(base_url="http://unused").parse_receipts(signed_post("/s", body))


def test_parse_inbound() -> None:
    body = json.dumps(
        {
            "messages": [
                {"id": "lb-9", "from": "+33612345678", "to": "SHOP", "text": "STOP", "received_at": None}
            ]
        }
    ).encode()
    [message] = LoopbackGateway(base_url="http://unused").parse_inbound(signed_post("/i", body))
    assert (message.provider_id, message.from_, message.to, message.text) == (
        "lb-9",
        "+33612345678",
        "SHOP",
        "STOP",
    )
    assert message.received_at is not None
    with pytest.raises(WebhookError):
        LoopbackGateway(base_url="http://unused").parse_inbound(signed_post("/i", b'{"messages": [{}]}'))


def test_full_loop_server_receipts_and_replies_verify_and_parse(
    loopback: LoopbackServer, receiver: WebhookReceiver
) -> None:
    """What the server posts is exactly what the adapter's webhook side accepts."""
    gateway = LoopbackGateway(base_url=loopback.url)
    sent = gateway.send_batch(outbound(3))
    wait_for(lambda: sum(len(p.json["receipts"]) for p in receiver.posts("/status")) == 3)
    requests_seen = [as_django_request(p) for p in receiver.posts("/status")]
    assert all(gateway.verify_webhook(r) for r in requests_seen)
    receipts = [receipt for r in requests_seen for receipt in gateway.parse_receipts(r)]
    assert {(r.client_ref, r.provider_id) for r in receipts} == {(s.client_ref, s.provider_id) for s in sent}

    reply = {"from": "+33612000001", "to": "SHOP", "text": "STOP"}
    assert requests.post(f"{loopback.url}/inbound", json=reply, timeout=10).status_code == 200
    [post] = receiver.posts("/inbound")
    request = as_django_request(post)
    assert gateway.verify_webhook(request)
    [inbound] = gateway.parse_inbound(request)
    assert inbound.from_ == "+33612000001" and inbound.text == "STOP"
