"""Fixtures for the gateway tests: a running loopback server and a local webhook receiver.

Everything listens on 127.0.0.1 with a free port (bound to port 0); nothing reaches the network.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from campaigns.gateways import signing
from campaigns.gateways.base import reset_gateways
from campaigns.gateways.loopback_server import LoopbackServer

SECRET = "test-webhook-secret"


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; a bounded loop, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout}s")
        time.sleep(interval)


@dataclass
class Received:
    """One webhook as it arrived at the receiver."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A stand-in for the platform's webhook endpoints that records and checks every POST."""

    secret: str
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests first, to exercise the sender's retries
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def posts(self, suffix: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.endswith(suffix)]


def _start_receiver(secret: str) -> WebhookReceiver:
    receiver = WebhookReceiver(secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                else:
                    ok = signing.verify(
                        body,
                        self.headers.get(signing.TIMESTAMP_HEADER),
                        self.headers.get(signing.SIGNATURE_HEADER),
                        receiver.secret,
                    )
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body, ok))
                    status = 200 if ok else 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    receiver.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.httpd.daemon_threads = True
    threading.Thread(target=receiver.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A local HTTP server playing the platform's ``/webhooks/sms/...`` endpoints."""
    receiver = _start_receiver(SECRET)
    yield receiver
    assert receiver.httpd is not None
    receiver.httpd.shutdown()
    receiver.httpd.server_close()


@pytest.fixture
def make_loopback(receiver: WebhookReceiver) -> Iterator[Callable[..., LoopbackServer]]:
    """Factory of started loopback servers posting to ``receiver``; all are stopped after the test."""
    servers: list[LoopbackServer] = []

    def make(**options: Any) -> LoopbackServer:
        options.setdefault("receipt_delay", 0.2)
        options.setdefault("webhook_base", receiver.url)
        options.setdefault("secret", SECRET)
        options.setdefault("retry_delays", (0.05, 0.1, 0.2))
        server = LoopbackServer("127.0.0.1", 0, **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def loopback(make_loopback: Callable[..., LoopbackServer]) -> LoopbackServer:
    """A loopback server with the defaults of the tests (0.2 s receipts, no failures)."""
    return make_loopback()


@pytest.fixture(autouse=True)
def _gateway_settings(settings: Any) -> Iterator[None]:
    """The tests' webhook secret, and no adapter instance leaking from one test to the next."""
    settings.GATEWAY_WEBHOOK_SECRET = SECRET
    reset_gateways()
    yield
    reset_gateways()
