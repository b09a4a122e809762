"""The ``twilio`` adapter, against a local fake of Twilio's REST API and Twilio's webhook signature.

The fake answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` the way Twilio does (201 with the
message resource, or an error document with Twilio's code); the official client is pointed at it through
``TWILIO_BASE_URL``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import RequestFactory
from twilio.request_validator import HMAC_SHA256, SIGNATURE_SETTINGS_HEADER, RequestValidator

from campaigns.gateways import PERMANENT_ERROR, TRANSIENT_ERROR, OutboundSms, WebhookError, get_gateway
from campaigns.gateways.twilio_gateway import TwilioGateway, classify_error

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token"
SITE_URL = "https://sms.example.com"

#: numbers the fake treats specially, like Twilio's magic test numbers
ERRORS = {
    "+15005550001": (400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (429, 20429, "Too Many Requests"),
    "+15005550010": (503, 20503, "Service unavailable"),
}


@dataclass
class FakeTwilio:
    """What the fake received, for assertions."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A local HTTP server answering like Twilio's Messages.json endpoint."""
    state = FakeTwilio(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def reply(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            path = urlsplit(self.path).path
            auth = self.headers.get("Authorization", "")
            with state.lock:
                state.requests.append({"path": path, "form": form, "auth": auth})
            expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                self.reply(
                    404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
                )
                return
            if auth != expected_auth:
                self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            if form.get("To") in ERRORS:
                status, code, message = ERRORS[form["To"]]
                self.reply(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )
                return
            self.reply(
                201,
                {
                    "sid": "SM" + uuid.uuid4().hex,
                    "account_sid": ACCOUNT_SID,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "messaging_service_sid": form.get("MessagingServiceSid"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "error_code": None,
                    "error_message": None,
                    "date_created": "Thu, 01 Jan 2026 10:00:00 +0000",
                    "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SMxxx.json",
                },
            )

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def twilio_settings(settings: Any, fake_twilio: FakeTwilio) -> Any:
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_BASE_URL = fake_twilio.url
    settings.SITE_URL = SITE_URL
    return settings


def sms(ref: str, to: str, sender: str = "+15005550006") -> OutboundSms:
    return OutboundSms(ref, to, sender, f"Hello {ref}")


# ---- sending ---------------------------------------------------------------------------------------------


def test_send_batch_one_request_per_message_with_client_ref_in_callback(
    twilio_settings: Any, fake_twilio: FakeTwilio
) -> None:
    gateway = TwilioGateway()
    messages = [sms("m1", "+33612345601"), sms("m2", "+33612345602"), sms("m3", "+33612345603")]
    results = gateway.send_batch(messages)

    assert [r.client_ref for r in results] == ["m1", "m2", "m3"]
    assert all(r.accepted and r.provider_id and r.provider_id.startswith("SM") for r in results)
    assert len(fake_twilio.requests) == 3
    forms = {req["form"]["To"]: req["form"] for req in fake_twilio.requests}
    form = forms["+33612345602"]
    assert form["From"] == "+15005550006"
    assert form["Body"] == "Hello m2"
    assert form["StatusCallback"] == f"{SITE_URL}/webhooks/sms/twilio/status?client_ref=m2"


def test_twilio_error_codes_map_to_permanent_or_transient(twilio_settings: Any) -> None:
    results = TwilioGateway(concurrency=1).send_batch(
        [
            sms("ok", "+33612345601"),
            sms("invalid", "+15005550001"),
            sms("unsubscribed", "+15005550004"),
            sms("throttled", "+15005550009"),
            sms("down", "+15005550010"),
        ]
    )
    by_ref = {r.client_ref: r for r in results}
    assert by_ref["ok"].accepted
    assert (by_ref["invalid"].status, by_ref["invalid"].error_code) == (PERMANENT_ERROR, "21211")
    assert "not a valid phone number" in by_ref["invalid"].error_message
    assert (by_ref["unsubscribed"].status, by_ref["unsubscribed"].error_code) == (PERMANENT_ERROR, "21610")
    assert (by_ref["throttled"].status, by_ref["throttled"].error_code) == (TRANSIENT_ERROR, "20429")
    assert (by_ref["down"].status, by_ref["down"].error_code) == (TRANSIENT_ERROR, "20503")


def test_messaging_service_is_used_when_there_is_no_sender(
    twilio_settings: Any, fake_twilio: FakeTwilio
) -> None:
    twilio_settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    [result] = TwilioGateway().send_batch([sms("m1", "+33612345601", sender="")])
    assert result.accepted
    form = fake_twilio.requests[0]["form"]
    assert form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in form


def test_bad_credentials_are_transient(twilio_settings: Any) -> None:
    [result] = TwilioGateway(auth_token="wrong").send_batch([sms("m1", "+33612345601")])
    assert (result.status, result.error_code) == (TRANSIENT_ERROR, "20003")


def test_network_error_is_transient_for_the_whole_batch(settings: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    gateway = TwilioGateway(ACCOUNT_SID, AUTH_TOKEN, base_url=dead, concurrency=1, timeout=2)
    results = gateway.send_batch([sms(f"m{i}", f"+3361234560{i}") for i in range(4)])
    assert {r.status for r in results} == {TRANSIENT_ERROR}
    assert {r.error_code for r in results} == {"network_error"}


def test_missing_credentials_fail_loudly_only_when_sending(settings: Any) -> None:
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    gateway = get_gateway("twilio")  # building it is fine: webhooks of an unconfigured gateway just fail
    assert isinstance(gateway, TwilioGateway)
    assert not gateway.verify_webhook(RequestFactory().post("/webhooks/sms/twilio/status"))
    with pytest.raises(Exception, match="TWILIO_ACCOUNT_SID"):
        gateway.send_batch([sms("m1", "+33612345601")])


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 21211, PERMANENT_ERROR),
        (400, 21610, PERMANENT_ERROR),
        (400, 21614, PERMANENT_ERROR),
        (400, 21999, PERMANENT_ERROR),  # an unknown 4xx: the request itself is wrong
        (429, 20429, TRANSIENT_ERROR),
        (400, 30001, TRANSIENT_ERROR),
        (500, 20500, TRANSIENT_ERROR),
        (502, None, TRANSIENT_ERROR),
        (401, 20003, TRANSIENT_ERROR),
        (None, None, TRANSIENT_ERROR),
    ],
)
def test_classify_error(status: int | None, code: int | None, expected: str) -> None:
    assert classify_error(status, code) == expected


# ---- webhooks --------------------------------------------------------------------------------------------


def twilio_post(
    path: str, params: dict[str, str], token: str = AUTH_TOKEN, algorithm: str | None = None, **extra: str
):
    """A Django request as Twilio would send it, signed over the public URL (SITE_URL + path)."""
    signature = RequestValidator(token).compute_signature(f"{SITE_URL}{path}", params, algorithm)
    headers = {"X-Twilio-Signature": signature, **extra}
    return RequestFactory().post(
        path, data=urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers
    )


STATUS_PARAMS = {
    "MessageSid": "SM" + "a" * 32,
    "MessageStatus": "delivered",
    "AccountSid": ACCOUNT_SID,
    "From": "+15005550006",
    "To": "+33612345601",
    "ErrorCode": "",
}


def test_signed_twilio_webhook_verifies(twilio_settings: Any) -> None:
    request = twilio_post("/webhooks/sms/twilio/status?client_ref=42", STATUS_PARAMS)
    assert TwilioGateway().verify_webhook(request)


def test_sha256_signature_scheme_verifies(twilio_settings: Any) -> None:
    request = twilio_post(
        "/webhooks/sms/twilio/status?client_ref=42",
        STATUS_PARAMS,
        algorithm=HMAC_SHA256,
        **{SIGNATURE_SETTINGS_HEADER: "key=webhooks_sharedkey_x,algorithm=HMAC_SHA256"},
    )
    assert TwilioGateway().verify_webhook(request)


def test_tampered_twilio_webhook_fails(twilio_settings: Any) -> None:
    good = twilio_post("/webhooks/sms/twilio/status?client_ref=42", STATUS_PARAMS)
    tampered = RequestFactory().post(
        "/webhooks/sms/twilio/status?client_ref=42",
        data=urlencode({**STATUS_PARAMS, "MessageStatus": "undelivered"}),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": good.headers["X-Twilio-Signature"]},
    )
    gateway = TwilioGateway()
    assert not gateway.verify_webhook(tampered)
    # Changing the client_ref in the URL breaks it too: the URL is signed.
    moved = RequestFactory().post(
        "/webhooks/sms/twilio/status?client_ref=43",
        data=urlencode(STATUS_PARAMS),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": good.headers["X-Twilio-Signature"]},
    )
    assert not gateway.verify_webhook(moved)


def test_webhook_signed_with_another_token_or_unsigned_fails(twilio_settings: Any) -> None:
    gateway = TwilioGateway()
    assert not gateway.verify_webhook(
        twilio_post("/webhooks/sms/twilio/status", STATUS_PARAMS, token="other")
    )
    unsigned = RequestFactory().post(
        "/webhooks/sms/twilio/status",
        data=urlencode(STATUS_PARAMS),
        content_type="application/x-www-form-urlencoded",
    )
    assert not gateway.verify_webhook(unsigned)


def test_parse_status_callback(twilio_settings: Any) -> None:
    request = twilio_post("/webhooks/sms/twilio/status?client_ref=42", STATUS_PARAMS)
    [receipt] = TwilioGateway().parse_receipts(request)
    assert (receipt.provider_id, receipt.client_ref, receipt.status) == (
        STATUS_PARAMS["MessageSid"],
        "42",
        "delivered",
    )
    assert receipt.error_code == ""
    assert receipt.occurred_at is not None

    undelivered = {**STATUS_PARAMS, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    [receipt] = TwilioGateway().parse_receipts(
        twilio_post("/webhooks/sms/twilio/status?client_ref=7", undelivered)
    )
    assert (receipt.status, receipt.error_code, receipt.client_ref) == ("undelivered", "30003", "7")


def test_intermediate_statuses_are_not_receipts(twilio_settings: Any) -> None:
    for status in ("queued", "sending", "accepted"):
        request = twilio_post("/webhooks/sms/twilio/status", {**STATUS_PARAMS, "MessageStatus": status})
        assert TwilioGateway().parse_receipts(request) == []
    with pytest.raises(WebhookError):
        TwilioGateway().parse_receipts(twilio_post("/webhooks/sms/twilio/status", {"MessageStatus": "sent"}))


def test_parse_inbound(twilio_settings: Any) -> None:
    params = {
        "MessageSid": "SM" + "b" * 32,
        "SmsSid": "SM" + "b" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": "+33612345601",
        "To": "+15005550006",
        "Body": "STOP",
        "NumMedia": "0",
    }
    request = twilio_post("/webhooks/sms/twilio/inbound", params)
    gateway = TwilioGateway()
    assert gateway.verify_webhook(request)
    [inbound] = gateway.parse_inbound(request)
    assert (inbound.provider_id, inbound.from_, inbound.to, inbound.text) == (
        params["MessageSid"],
        "+33612345601",
        "+15005550006",
        "STOP",
    )
    with pytest.raises(WebhookError):
        gateway.parse_inbound(twilio_post("/webhooks/sms/twilio/inbound", {"Body": "hi"}))
