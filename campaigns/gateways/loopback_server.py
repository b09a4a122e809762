"""The loopback gateway: a real HTTP server that behaves like an SMS provider, shipped with the project.

It is the sandbox (the "virtual phone" shows what it received), the gateway of development and of the
integration tests, and the counterpart of the benchmark. It speaks the API of docs/api.md, "Loopback gateway":

- ``POST /messages`` ``{"messages": [{to, from, text, client_ref}]}`` -> ``{"results": [{client_ref, id,
  status: accepted|failed, error_code, retryable}]}``;
- ``GET /messages`` (filters ``?to=`` and ``?client_ref=``, repeatable) -> every accepted message;
- ``DELETE /messages`` empties the store;
- ``POST /inbound`` ``{from, to, text}`` forwards a reply to the platform's inbound webhook and answers
  200 once it was accepted (502 if not); ``?wait=0`` answers 202 at once and forwards in the background;
- ``GET /inbound`` lists the replies forwarded so far; ``GET /health``;
- ``GET /control`` / ``POST /control`` read or change the behaviour knobs at run time, so an integration
  test can make the gateway fail or stall without restarting it.

Delivery receipts are posted, signed (:mod:`.signing`), to ``{webhook_base}/webhooks/sms/loopback/status``
``receipt_delay`` seconds after acceptance, batched when several are due together, from a background
thread; a failed post is retried with backoff and then logged, never crashing the server.

It deliberately does NOT deduplicate by ``client_ref``: it records what a provider would really have sent,
so a test counting messages per recipient sees a double send. ``?client_ref=`` lets a client reconcile.

Only the standard library is used, so the server starts in a fraction of a second.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import signing

logger = logging.getLogger(__name__)

PERMANENT_ERROR_CODE = "invalid_destination"
TRANSIENT_ERROR_CODE = "temporarily_unavailable"
UNDELIVERED_ERROR_CODE = "handset_unreachable"
MAX_BODY_BYTES = 64 * 1024 * 1024
_CONTROL_FIELDS = {
    "receipt_delay": float,
    "fail_rate": float,
    "permanent_share": float,
    "undelivered_rate": float,
    "response_delay": float,
}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class BadRequest(ValueError):
    """A request the server refuses with 400 and a JSON error message."""


@dataclass
class _Knobs:
    receipt_delay: float
    fail_rate: float
    permanent_share: float
    undelivered_rate: float
    response_delay: float

    def validate(self) -> None:
        """Refuse shares outside 0..1 and negative delays, at start-up and on ``POST /control``."""
        for name in ("fail_rate", "permanent_share", "undelivered_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise BadRequest(f"{name} must be between 0 and 1, got {value}")
        for name in ("receipt_delay", "response_delay"):
            if getattr(self, name) < 0:
                raise BadRequest(f"{name} must not be negative")


class LoopbackServer:
    """The loopback gateway as an object with :meth:`start` and :meth:`stop`, so tests run it in a thread.

    Thread-safe: the HTTP server answers each request in its own thread and the receipt dispatcher runs
    in another; all state is guarded by one lock.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8025,
        *,
        receipt_delay: float = 2.0,
        fail_rate: float = 0.0,
        permanent_share: float = 0.5,
        undelivered_rate: float = 0.0,
        response_delay: float = 0.0,
        webhook_base: str | None = None,
        secret: str = "",
        seed: int | None = None,
        gateway_name: str = "loopback",
        retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
        post_timeout: float = 10.0,
        receipt_batch_size: int = 1000,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.knobs = _Knobs(receipt_delay, fail_rate, permanent_share, undelivered_rate, response_delay)
        self.knobs.validate()
        self.webhook_base = (webhook_base or "").rstrip("/")
        self.secret = secret
        self.gateway_name = gateway_name
        self.retry_delays = retry_delays
        self.post_timeout = post_timeout
        self.receipt_batch_size = receipt_batch_size
        self._rng = random.Random(seed)
        self._seeded = seed is not None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._messages: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._inbound: list[dict[str, Any]] = []
        self._pending: list[tuple[float, int, str, str]] = []  # (due, seq, id, outcome), a heap
        self._seq = itertools.count()
        self._stopping = False
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        # Never send the loopback's webhooks through an HTTP proxy from the environment: it is local.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.stats = dict.fromkeys(
            (
                "receipt_posts",
                "receipt_post_failures",
                "receipts_dropped",
                "inbound_posts",
                "inbound_post_failures",
            ),
            0,
        )

    # ---- lifecycle -----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (useful when started with port 0)."""
        if self._httpd is None:
            return self.requested_port
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:8025``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        """Bind, then serve and dispatch receipts in daemon threads; returns at once."""
        server = self

        class Handler(_Handler):
            """The request handler bound to this server instance (several may run in one process)."""

            loopback = server

        self._httpd = ThreadingHTTPServer((self.host, self.requested_port), Handler)
        self._httpd.daemon_threads = True
        self._stopping = False
        self._threads = [
            threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},  # so that stop() returns promptly
                name="loopback-http",
                daemon=True,
            ),
            threading.Thread(target=self._dispatch_receipts, name="loopback-receipts", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and dispatching; receipts not yet posted are dropped (and counted)."""
        with self._wake:
            self._stopping = True
            self.stats["receipts_dropped"] += len(self._pending)
            self._wake.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=self.post_timeout + 1)
        self._threads = []

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- state, also used directly by tests ------------------------------------------------------------

    def _new_id(self) -> str:
        # Seeded runs get reproducible ids too; the lock is held by the caller so the order is stable.
        raw = uuid.UUID(int=self._rng.getrandbits(128), version=4) if self._seeded else uuid.uuid4()
        return f"lb-{raw.hex}"

    def accept(self, batch: list[Any]) -> list[dict[str, Any]]:
        """Record a batch of messages as ``POST /messages`` does, deciding each one's fate."""
        results = []
        now = time.monotonic()
        received_at = _now_iso()
        with self._wake:
            knobs = self.knobs
            for item in batch:
                if not isinstance(item, dict):
                    raise BadRequest("each message must be a JSON object")
                client_ref = str(item.get("client_ref") or "")
                to = str(item.get("to") or "")
                message_id = self._new_id()
                if not to.startswith("+") or not to[1:].isdigit() or not 8 <= len(to) <= 16:
                    results.append(self._failure(client_ref, message_id, "invalid_number", False))
                    continue
                if knobs.fail_rate and self._rng.random() < knobs.fail_rate:
                    permanent = self._rng.random() < knobs.permanent_share
                    code = PERMANENT_ERROR_CODE if permanent else TRANSIENT_ERROR_CODE
                    results.append(self._failure(client_ref, message_id, code, not permanent))
                    continue
                undelivered = bool(knobs.undelivered_rate) and self._rng.random() < knobs.undelivered_rate
                record = {
                    "id": message_id,
                    "to": to,
                    "from": str(item.get("from") or ""),
                    "text": str(item.get("text") or ""),
                    "client_ref": client_ref,
                    "received_at": received_at,
                    "status": "accepted",
                    "status_at": received_at,
                }
                self._messages.append(record)
                self._by_id[message_id] = record
                outcome = "undelivered" if undelivered else "delivered"
                due_at = now + knobs.receipt_delay
                heapq.heappush(self._pending, (due_at, next(self._seq), message_id, outcome))
                results.append(
                    {
                        "client_ref": client_ref,
                        "id": message_id,
                        "status": "accepted",
                        "error_code": "",
                        "retryable": False,
                    }
                )
            self._wake.notify_all()
        return results

    @staticmethod
    def _failure(client_ref: str, message_id: str, code: str, retryable: bool) -> dict[str, Any]:
        return {
            "client_ref": client_ref,
            "id": message_id,
            "status": "failed",
            "error_code": code,
            "retryable": retryable,
        }

    def messages(self, to: list[str] | None = None, client_ref: list[str] | None = None) -> list[dict]:
        """Copies of the accepted messages, optionally filtered by recipient and/or client reference."""
        to_set = set(to or ())
        ref_set = set(client_ref or ())
        with self._lock:
            return [
                dict(m)
                for m in self._messages
                if (not to_set or m["to"] in to_set) and (not ref_set or m["client_ref"] in ref_set)
            ]

    def clear(self) -> int:
        """Forget every message (and the receipts still due for them); returns how many were removed."""
        with self._lock:
            removed = len(self._messages)
            self._messages.clear()
            self._by_id.clear()
            self._inbound.clear()
            self._pending.clear()
            return removed

    def inbound(self) -> list[dict]:
        """Copies of the replies received through ``POST /inbound``."""
        with self._lock:
            return [dict(m) for m in self._inbound]

    def control(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the behaviour knobs at run time (unknown names or bad values -> :class:`BadRequest`)."""
        unknown = set(changes) - set(_CONTROL_FIELDS)
        if unknown:
            raise BadRequest(f"unknown setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            try:
                values = {name: _CONTROL_FIELDS[name](value) for name, value in changes.items()}
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"bad value: {exc}")
            candidate = _Knobs(**{**self.knobs.__dict__, **values})
            candidate.validate()
            self.knobs = candidate
            return dict(candidate.__dict__)

    # ---- inbound replies -------------------------------------------------------------------------------

    def deliver_inbound(self, payload: Any, wait: bool = True) -> tuple[dict[str, Any], bool | None]:
        """Forward a reply to the platform's inbound webhook; returns (the record, whether it arrived).

        By default the call returns once the platform answered, so a test that replies STOP can rely on
        the opt-out being recorded. ``wait=False`` forwards from a background thread (result ``None``):
        for a caller that is itself the platform's only worker, which would otherwise wait for itself.
        """
        if not isinstance(payload, dict):
            raise BadRequest("body must be a JSON object {from, to, text}")
        sender = str(payload.get("from") or "")
        if not sender:
            raise BadRequest("'from' is required")
        with self._lock:
            record = {
                "id": self._new_id(),
                "from": sender,
                "to": str(payload.get("to") or ""),
                "text": str(payload.get("text") or ""),
                "received_at": _now_iso(),
            }
            self._inbound.append(record)
        if not wait:
            threading.Thread(
                target=self._post_webhook, args=("inbound", {"messages": [record]}), daemon=True
            ).start()
            return record, None
        delivered = self._post_webhook("inbound", {"messages": [record]})
        return record, delivered

    # ---- receipts ----------------------------------------------------------------------------------------

    def _dispatch_receipts(self) -> None:
        while True:
            with self._wake:
                while not self._stopping:
                    now = time.monotonic()
                    if self._pending and self._pending[0][0] <= now:
                        break
                    self._wake.wait(self._pending[0][0] - now if self._pending else None)
                if self._stopping:
                    return
                due = []
                now = time.monotonic()
                while self._pending and self._pending[0][0] <= now:
                    _, _, message_id, outcome = heapq.heappop(self._pending)
                    record = self._by_id.get(message_id)
                    if record is None:  # cleared in the meantime
                        continue
                    occurred_at = _now_iso()
                    record["status"] = outcome
                    record["status_at"] = occurred_at
                    due.append(
                        {
                            "id": message_id,
                            "client_ref": record["client_ref"],
                            "status": outcome,
                            "error_code": UNDELIVERED_ERROR_CODE if outcome == "undelivered" else "",
                            "occurred_at": occurred_at,
                        }
                    )
            for start in range(0, len(due), self.receipt_batch_size):
                try:
                    self._post_webhook("status", {"receipts": due[start : start + self.receipt_batch_size]})
                except Exception:  # a bug here must not kill the dispatcher thread
                    logger.exception("loopback: unexpected error while posting receipts")

    def _post_webhook(self, kind: str, payload: dict[str, Any]) -> bool:
        """POST a signed JSON body, retrying with backoff; False (and a log line) when it never arrived."""
        if not self.webhook_base:
            return False
        url = f"{self.webhook_base}/webhooks/sms/{self.gateway_name}/{kind}"
        body = json.dumps(payload).encode()
        attempts = len(self.retry_delays) + 1
        error = ""
        for attempt in range(attempts):
            # Signed per attempt: a retry minutes later must carry a fresh timestamp.
            headers = {"Content-Type": "application/json", **signing.sign(body, self.secret)}
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with self._opener.open(request, timeout=self.post_timeout) as response:
                    response.read()
                with self._lock:
                    self.stats["receipt_posts" if kind == "status" else "inbound_posts"] += 1
                return True
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
                error = f"{type(exc).__name__}: {exc}"
            if attempt < attempts - 1:
                if self._sleep_unless_stopping(self.retry_delays[attempt]):
                    break
        with self._lock:
            self.stats["receipt_post_failures" if kind == "status" else "inbound_post_failures"] += 1
        logger.warning("loopback: gave up posting %s webhook to %s (%s)", kind, url, error)
        return False

    def _sleep_unless_stopping(self, seconds: float) -> bool:
        with self._wake:
            if not self._stopping:
                self._wake.wait(seconds)
            return self._stopping


class _Handler(BaseHTTPRequestHandler):
    """Routes the few endpoints of the loopback API; errors are JSON, never a stack trace."""

    loopback: LoopbackServer
    # Keep-alive, so a client posting many batches reuses one connection.
    protocol_version = "HTTP/1.1"
    # Small JSON answers on a kept-alive connection otherwise wait ~40 ms for Nagle + delayed ACK.
    disable_nagle_algorithm = True
    server_version = "LoopbackGateway/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Access lines at DEBUG: at thousands of batches a second, stderr lines would be the bottleneck."""
        logger.debug("loopback: %s - %s", self.address_string(), format % args)

    # ---- plumbing --------------------------------------------------------------------------------------

    def _send_json(self, status: int, payload: Any, close: bool = False) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _read_json(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("bad Content-Length")
        if length > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"body is not valid JSON: {exc}")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/") or "/"
        name = _ROUTES.get((method, path))
        try:
            if name is None:
                self._fail(HTTPStatus.NOT_FOUND, f"no route for {method} {path}")
                return
            getattr(self, name)(query)
        except BadRequest as exc:
            self._fail(HTTPStatus.BAD_REQUEST, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout); what it sent is recorded, as with a real provider.
            self.close_connection = True
            logger.debug("loopback: client went away during %s %s", method, self.path)
        except Exception:
            logger.exception("loopback: error handling %s %s", method, self.path)
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    def _fail(self, status: int, message: str) -> None:
        # The request body may be unread: close rather than let it be parsed as the next request.
        self.close_connection = True
        self._send_json(status, {"error": message}, close=True)

    def do_GET(self) -> None:  # noqa: N802
        """Entry point of http.server for GET."""
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        """Entry point of http.server for POST."""
        self._route("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        """Entry point of http.server for DELETE."""
        self._route("DELETE")

    # ---- endpoints ---------------------------------------------------------------------------------------

    def _get_health(self, query: dict) -> None:
        self._send_json(HTTPStatus.OK, {"status": "ok", "messages": len(self.loopback.messages())})

    def _post_messages(self, query: dict) -> None:
        data = self._read_json()
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise BadRequest('expected {"messages": [{"to", "from", "text", "client_ref"}, ...]}')
        results = self.loopback.accept(data["messages"])
        delay = self.loopback.knobs.response_delay
        if delay:
            # Recorded already: a client timing out here has been "sent" anyway, as with a real provider.
            time.sleep(delay)
        self._send_json(HTTPStatus.OK, {"results": results})

    def _get_messages(self, query: dict) -> None:
        self._send_json(HTTPStatus.OK, self.loopback.messages(query.get("to"), query.get("client_ref")))

    def _delete_messages(self, query: dict) -> None:
        self._send_json(HTTPStatus.OK, {"deleted": self.loopback.clear()})

    def _post_inbound(self, query: dict) -> None:
        wait = query.get("wait", ["1"])[-1].lower() not in ("0", "false", "no")
        record, delivered = self.loopback.deliver_inbound(self._read_json(), wait=wait)
        if delivered is None:
            self._send_json(HTTPStatus.ACCEPTED, {**record, "delivered": None})
        elif delivered:
            self._send_json(HTTPStatus.OK, {**record, "delivered": True})
        else:
            self._send_json(
                HTTPStatus.BAD_GATEWAY,
                {**record, "delivered": False, "error": "the platform's inbound webhook did not accept it"},
            )

    def _get_inbound(self, query: dict) -> None:
        self._send_json(HTTPStatus.OK, self.loopback.inbound())

    def _get_control(self, query: dict) -> None:
        self._send_json(HTTPStatus.OK, dict(self.loopback.knobs.__dict__))

    def _post_control(self, query: dict) -> None:
        data = self._read_json()
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object")
        self._send_json(HTTPStatus.OK, self.loopback.control(data))


_ROUTES = {
    ("GET", "/health"): "_get_health",
    ("POST", "/messages"): "_post_messages",
    ("GET", "/messages"): "_get_messages",
    ("DELETE", "/messages"): "_delete_messages",
    ("POST", "/inbound"): "_post_inbound",
    ("GET", "/inbound"): "_get_inbound",
    ("GET", "/control"): "_get_control",
    ("POST", "/control"): "_post_control",
}
