"""The loopback gateway server, driven over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import requests

from campaigns.gateways.loopback_server import LoopbackServer

from .conftest import WebhookReceiver, wait_for


def batch(n: int, start: int = 0, to: str | None = None) -> dict:
    return {
        "messages": [
            {
                "to": to or f"+3361234{i:04d}",
                "from": "SHOP",
                "text": f"hello {i}",
                "client_ref": str(i),
            }
            for i in range(start, start + n)
        ]
    }


def test_accepts_a_batch_and_returns_ids(loopback: LoopbackServer) -> None:
    response = requests.post(f"{loopback.url}/messages", json=batch(3), timeout=5)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["client_ref"] for r in results] == ["0", "1", "2"]
    assert all(r["status"] == "accepted" and r["error_code"] == "" and not r["retryable"] for r in results)
    assert len({r["id"] for r in results}) == 3


def test_get_lists_accepted_messages_with_filters(loopback: LoopbackServer) -> None:
    requests.post(f"{loopback.url}/messages", json=batch(3), timeout=5)
    requests.post(f"{loopback.url}/messages", json=batch(2, start=3, to="+33699999999"), timeout=5)

    listed = requests.get(f"{loopback.url}/messages", timeout=5).json()
    assert len(listed) == 5
    first = listed[0]
    assert set(first) >= {"id", "to", "from", "text", "client_ref", "received_at", "status"}
    assert first["from"] == "SHOP" and first["text"] == "hello 0" and first["status"] == "accepted"

    phone = requests.get(f"{loopback.url}/messages", params={"to": "+33699999999"}, timeout=5).json()
    assert [m["client_ref"] for m in phone] == ["3", "4"]
    by_ref = requests.get(f"{loopback.url}/messages", params={"client_ref": ["1", "4"]}, timeout=5).json()
    assert sorted(m["client_ref"] for m in by_ref) == ["1", "4"]


def test_delete_empties_the_store(loopback: LoopbackServer) -> None:
    requests.post(f"{loopback.url}/messages", json=batch(4), timeout=5)
    response = requests.delete(f"{loopback.url}/messages", timeout=5)
    assert response.json() == {"deleted": 4}
    assert requests.get(f"{loopback.url}/messages", timeout=5).json() == []


def test_fail_rate_one_with_permanent_share_one_fails_all_permanently(make_loopback) -> None:
    server = make_loopback(fail_rate=1.0, permanent_share=1.0)
    results = requests.post(f"{server.url}/messages", json=batch(20), timeout=5).json()["results"]
    assert all(r["status"] == "failed" and r["retryable"] is False for r in results)
    assert {r["error_code"] for r in results} == {"invalid_destination"}
    # Refused messages were not accepted, so the virtual phone never shows them.
    assert requests.get(f"{server.url}/messages", timeout=5).json() == []


def test_fail_rate_one_with_permanent_share_zero_fails_all_transiently(make_loopback) -> None:
    server = make_loopback(fail_rate=1.0, permanent_share=0.0)
    results = requests.post(f"{server.url}/messages", json=batch(20), timeout=5).json()["results"]
    assert all(r["status"] == "failed" and r["retryable"] is True for r in results)


def test_partial_fail_rate_is_reproducible_with_a_seed(make_loopback) -> None:
    outcomes = []
    for _ in range(2):
        server = make_loopback(fail_rate=0.3, permanent_share=0.5, seed=42)
        results = requests.post(f"{server.url}/messages", json=batch(200), timeout=5).json()["results"]
        outcomes.append([(r["id"], r["status"], r["retryable"]) for r in results])
    assert outcomes[0] == outcomes[1]
    failed = [o for o in outcomes[0] if o[1] == "failed"]
    assert 20 < len(failed) < 100  # about 30% of 200
    assert {o[2] for o in failed} == {True, False}


def test_an_invalid_number_fails_permanently(loopback: LoopbackServer) -> None:
    body = {"messages": [{"to": "0612345678", "from": "SHOP", "text": "x", "client_ref": "a"}]}
    [result] = requests.post(f"{loopback.url}/messages", json=body, timeout=5).json()["results"]
    assert (
        result["status"] == "failed" and result["error_code"] == "invalid_number" and not result["retryable"]
    )


def test_bad_json_is_a_400_with_a_clear_error(loopback: LoopbackServer) -> None:
    response = requests.post(
        f"{loopback.url}/messages",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]

    response = requests.post(f"{loopback.url}/messages", json={"to": "+33612345678"}, timeout=5)
    assert response.status_code == 400
    assert "messages" in response.json()["error"]

    response = requests.post(f"{loopback.url}/messages", json={"messages": ["oops"]}, timeout=5)
    assert response.status_code == 400
    assert requests.get(f"{loopback.url}/messages", timeout=5).json() == []


def test_unknown_route_is_a_json_404(loopback: LoopbackServer) -> None:
    response = requests.get(f"{loopback.url}/nope", timeout=5)
    assert response.status_code == 404
    assert "no route" in response.json()["error"]


def test_health(loopback: LoopbackServer) -> None:
    assert requests.get(f"{loopback.url}/health", timeout=5).json() == {"status": "ok", "messages": 0}


def test_receipts_are_posted_signed_after_the_delay(
    loopback: LoopbackServer, receiver: WebhookReceiver
) -> None:
    results = requests.post(f"{loopback.url}/messages", json=batch(5), timeout=5).json()["results"]

    posts = wait_for(lambda: receiver.posts("/webhooks/sms/loopback/status"))
    # Due together, so posted together (one webhook for the batch).
    wait_for(lambda: sum(len(p.json["receipts"]) for p in receiver.posts("/status")) == 5)
    posts = receiver.posts("/status")
    assert all(p.signature_ok for p in posts)
    assert len(posts) == 1
    receipts = posts[0].json["receipts"]
    assert {r["id"] for r in receipts} == {r["id"] for r in results}
    assert {r["client_ref"] for r in receipts} == {"0", "1", "2", "3", "4"}
    assert {r["status"] for r in receipts} == {"delivered"}
    assert all(r["occurred_at"] and r["error_code"] == "" for r in receipts)
    listed = requests.get(f"{loopback.url}/messages", timeout=5).json()
    assert {m["status"] for m in listed} == {"delivered"}


def test_undelivered_receipts(make_loopback, receiver: WebhookReceiver) -> None:
    server = make_loopback(undelivered_rate=1.0)
    requests.post(f"{server.url}/messages", json=batch(2), timeout=5)
    wait_for(lambda: sum(len(p.json["receipts"]) for p in receiver.posts("/status")) == 2)
    receipts = [r for p in receiver.posts("/status") for r in p.json["receipts"]]
    assert {r["status"] for r in receipts} == {"undelivered"}
    assert {r["error_code"] for r in receipts} == {"handset_unreachable"}


def test_a_failed_receipt_post_is_retried(loopback: LoopbackServer, receiver: WebhookReceiver) -> None:
    receiver.fail_next = 2
    requests.post(f"{loopback.url}/messages", json=batch(1), timeout=5)
    wait_for(lambda: receiver.posts("/status"))
    assert receiver.fail_next == 0
    assert len(receiver.posts("/status")) == 1
    wait_for(lambda: loopback.stats["receipt_posts"] == 1)
    assert loopback.stats["receipt_post_failures"] == 0


def test_an_unreachable_webhook_is_given_up_without_crashing(make_loopback) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    server = make_loopback(webhook_base=f"http://127.0.0.1:{dead_port}", retry_delays=(0.01, 0.01))
    requests.post(f"{server.url}/messages", json=batch(1), timeout=5)
    wait_for(lambda: server.stats["receipt_post_failures"] == 1)
    # Still serving, and the message still shows its final status.
    assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/messages", timeout=5).json()[0]["status"] == "delivered"


def test_inbound_is_forwarded_signed(loopback: LoopbackServer, receiver: WebhookReceiver) -> None:
    reply = {"from": "+33612340000", "to": "SHOP", "text": "STOP"}
    response = requests.post(f"{loopback.url}/inbound", json=reply, timeout=10)
    assert response.status_code == 200
    assert response.json()["delivered"] is True

    [post] = receiver.posts("/webhooks/sms/loopback/inbound")
    assert post.signature_ok
    [message] = post.json["messages"]
    assert message["from"] == "+33612340000" and message["to"] == "SHOP" and message["text"] == "STOP"
    assert message["id"] and message["received_at"]
    assert requests.get(f"{loopback.url}/inbound", timeout=5).json()[0]["text"] == "STOP"


def test_inbound_reports_a_webhook_that_refused(make_loopback, receiver: WebhookReceiver) -> None:
    server = make_loopback(secret="not-the-receivers-secret", retry_delays=())
    response = requests.post(f"{server.url}/inbound", json={"from": "+33612340000", "text": "hi"}, timeout=10)
    assert response.status_code == 502
    assert response.json()["delivered"] is False
    # The receiver saw it but rejected the signature: what a forged webhook would look like.
    assert [p.signature_ok for p in receiver.posts("/inbound")] == [False]


def test_inbound_can_be_forwarded_in_the_background(
    loopback: LoopbackServer, receiver: WebhookReceiver
) -> None:
    reply = {"from": "+33612340000", "to": "SHOP", "text": "START"}
    response = requests.post(f"{loopback.url}/inbound?wait=0", json=reply, timeout=10)
    assert response.status_code == 202
    [post] = wait_for(lambda: receiver.posts("/inbound"))
    assert post.signature_ok and post.json["messages"][0]["text"] == "START"


def test_inbound_requires_a_sender(loopback: LoopbackServer) -> None:
    response = requests.post(f"{loopback.url}/inbound", json={"text": "hi"}, timeout=5)
    assert response.status_code == 400


def test_control_changes_behaviour_at_run_time(loopback: LoopbackServer) -> None:
    response = requests.post(
        f"{loopback.url}/control", json={"fail_rate": 1, "permanent_share": 0}, timeout=5
    )
    assert response.json()["fail_rate"] == 1.0
    [result] = requests.post(f"{loopback.url}/messages", json=batch(1), timeout=5).json()["results"]
    assert result["status"] == "failed" and result["retryable"] is True
    assert requests.post(f"{loopback.url}/control", json={"fail_rate": 2}, timeout=5).status_code == 400
    assert requests.post(f"{loopback.url}/control", json={"colour": "red"}, timeout=5).status_code == 400


def test_concurrent_batches_are_all_recorded_once(loopback: LoopbackServer) -> None:
    def post(start: int) -> None:
        with requests.Session() as session:
            for offset in range(0, 100, 25):
                session.post(f"{loopback.url}/messages", json=batch(25, start=start + offset), timeout=10)

    threads = [threading.Thread(target=post, args=(k * 100,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = loopback.messages()
    assert len(listed) == 800
    assert len({m["id"] for m in listed}) == 800
    assert sorted(int(m["client_ref"]) for m in listed) == list(range(800))


def test_duplicates_are_recorded_not_hidden(loopback: LoopbackServer) -> None:
    # A real provider sends a retried message twice; the loopback must show it so tests can catch it.
    requests.post(f"{loopback.url}/messages", json=batch(1), timeout=5)
    requests.post(f"{loopback.url}/messages", json=batch(1), timeout=5)
    assert [m["client_ref"] for m in loopback.messages()] == ["0", "0"]


def test_management_command_serves_until_terminated(receiver: WebhookReceiver) -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "loopback_gateway", "--port", "0", "--receipt-delay", "0.1"]
        + ["--webhook-base", receiver.url, "--seed", "1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GATEWAY_WEBHOOK_SECRET": receiver.secret},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Loopback SMS gateway on http://127.0.0.1:" in line, (
            process.stderr.read() if not line else line
        )
        url = line.split(" on ", 1)[1].split()[0]
        assert requests.get(f"{url}/health", timeout=5).json()["status"] == "ok"
        requests.post(f"{url}/messages", json=batch(2), timeout=5)
        wait_for(lambda: receiver.posts("/status"))
        assert all(p.signature_ok for p in receiver.posts("/status"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0
