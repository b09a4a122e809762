from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from billing.models import CreditPack
from smsplatform.models import Membership
from smsplatform.onboarding import signup
from smsplatform.services import api_key_create, user_create

PASSWORD = "Long-enough-pw-1"
PACKS = [(500, 3250), (1000, 5900), (5000, 26000), (10000, 47000), (50000, 195000)]
_emails = itertools.count()


def make_org(name: str = "Boulangerie"):
    n = next(_emails)
    return signup(email=f"owner{n}@example.com", password=PASSWORD, org_name=f"{name} {n}", country="FR")


def add_member(org, role: str):
    user = user_create(email=f"{role}{next(_emails)}@example.com", password=PASSWORD)
    Membership.objects.create(org=org, user=user, role=role)
    return user


@pytest.fixture
def owner_org(db):
    return make_org("Boulangerie")


@pytest.fixture
def org(owner_org):
    return owner_org[1]


@pytest.fixture
def owner(owner_org):
    return owner_org[0]


@pytest.fixture
def other_org(db):
    """The decoy: a second organisation whose objects must stay invisible."""
    return make_org("Fleuriste")


@pytest.fixture
def packs(db):
    # Data migrations seed these, but a transactional test empties the tables: make sure they exist.
    return [CreditPack.objects.get_or_create(credits=c, defaults={"price_ht_cents": p})[0] for c, p in PACKS]


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def api_key_for():
    def make(org, user, role="admin"):
        return api_key_create(org=org, actor=user, name="t", role=role).raw_key

    return make


# --- A local fake of the Stripe API -----------------------------------------------------------------


class FakeStripe:
    """Just enough of api.stripe.com for Checkout: sessions and refunds, with every request recorded."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.fail_next = False
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(body).items()}
                fake.requests.append((self.command, self.path, form, dict(self.headers)))
                if fake.fail_next:
                    fake.fail_next = False
                    return self._send(
                        402, {"error": {"type": "card_error", "message": "Your card was declined."}}
                    )
                if self.path == "/v1/checkout/sessions":
                    n = next(fake._ids)
                    return self._send(
                        200,
                        {
                            "id": f"cs_test_{n}",
                            "object": "checkout.session",
                            "url": f"https://checkout.stripe.test/pay/cs_test_{n}",
                            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                            "currency": form["line_items[0][price_data][currency]"],
                            "payment_status": "unpaid",
                            "status": "open",
                            "metadata": {
                                "purchase_id": form.get("metadata[purchase_id]"),
                                "org_id": form.get("metadata[org_id]"),
                            },
                        },
                    )
                if self.path == "/v1/refunds":
                    return self._send(
                        200,
                        {
                            "id": f"re_{next(fake._ids)}",
                            "object": "refund",
                            "payment_intent": form["payment_intent"],
                        },
                    )
                return self._send(
                    404, {"error": {"type": "invalid_request_error", "message": "No such route"}}
                )

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_test")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def fake_stripe(settings):
    with FakeStripe() as fake:
        settings.PAYMENT_ADAPTER = "stripe"
        settings.STRIPE_SECRET_KEY = "sk_test_123"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.base
        yield fake


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for this exact body."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload.decode()}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(event_id: str, event_type: str, obj: dict) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "api_version": "2024-06-20",
            "data": {"object": obj},
        }
    ).encode()
