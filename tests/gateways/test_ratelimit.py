"""The per-gateway token bucket, against the real Redis (DB 2) and in its in-process fallback."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from campaigns.gateways import ratelimit

REDIS_URL = "redis://127.0.0.1:6379/2"
# A very slow rate makes each reserved slot 1,000 s apart, so the few milliseconds the test itself takes
# cannot change which slot a call got.
SLOW = 0.001


@pytest.fixture(params=["redis", "local"])
def backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """Runs each test against Redis and against the fallback used when REDIS_URL is empty."""
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.ping()
        except redis.ConnectionError:
            pytest.skip("no Redis at " + REDIS_URL)
        settings.REDIS_URL = REDIS_URL
    else:
        settings.REDIS_URL = ""
    yield request.param


@pytest.fixture
def name(backend: str) -> Iterator[str]:
    gateway_name = f"test-{uuid.uuid4().hex}"
    yield gateway_name
    ratelimit.reset(gateway_name)


def slots(waits: list[float]) -> list[int]:
    return sorted(round(w * SLOW) for w in waits)


def test_burst_goes_at_once_then_callers_wait_their_turn(name: str) -> None:
    waits = [ratelimit.acquire(name, 1, SLOW, burst=3) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert slots(waits[3:]) == [1, 2]


def test_a_reservation_larger_than_the_burst_waits_for_its_tokens(name: str) -> None:
    assert ratelimit.acquire(name, 1, SLOW, burst=1) == 0.0
    assert slots([ratelimit.acquire(name, 5, SLOW, burst=1)]) == [5]
    assert slots([ratelimit.acquire(name, 1, SLOW, burst=1)]) == [6]


def test_tokens_come_back_at_the_rate(name: str) -> None:
    # 1,000 tokens per second: after draining the bucket, the next slot is about 1 ms away, never more.
    for _ in range(10):
        ratelimit.acquire(name, 1, 1000, burst=10)
    wait = ratelimit.acquire(name, 1, 1000, burst=10)
    assert 0.0 <= wait <= 0.001 + 1e-6


def test_concurrent_callers_never_share_a_slot(name: str) -> None:
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        wait = ratelimit.acquire(name, 1, SLOW, burst=1)
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slots(waits) == list(range(40))


def test_unlimited_and_empty_requests_do_not_wait(name: str) -> None:
    assert ratelimit.acquire(name, 1000, 0, burst=0) == 0.0
    assert ratelimit.acquire(name, 0, SLOW, burst=0) == 0.0


def test_buckets_are_per_gateway(name: str) -> None:
    other = name + "-other"
    try:
        ratelimit.acquire(name, 1, SLOW, burst=1)
        assert ratelimit.acquire(name, 1, SLOW, burst=1) > 0
        assert ratelimit.acquire(other, 1, SLOW, burst=1) == 0.0
    finally:
        ratelimit.reset(other)


def test_redis_state_expires(settings: Any) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis")
    settings.REDIS_URL = REDIS_URL
    gateway_name = f"test-{uuid.uuid4().hex}"
    try:
        ratelimit.acquire(gateway_name, 1, 100, burst=10)
        ttl = client.pttl(ratelimit.KEY_PREFIX + gateway_name)
        assert 0 < ttl <= 1100 + 100
    finally:
        ratelimit.reset(gateway_name)


def test_limit_for_reads_settings(settings: Any) -> None:
    settings.SMS_GATEWAY_RATE_LIMITS = {"twilio": 100, "loopback": (50, 5), "console": 0}
    assert ratelimit.limit_for("twilio") == (100.0, 2.0)
    assert ratelimit.limit_for("loopback") == (50.0, 5.0)
    assert ratelimit.limit_for("console") is None
    assert ratelimit.limit_for("other") is None


def test_throttled_chunks_sleep_as_the_bucket_says(name: str, settings: Any) -> None:
    settings.SMS_GATEWAY_RATE_LIMITS = {name: (100, 1)}
    slept: list[float] = []
    chunks = list(ratelimit.throttled_chunks(name, list(range(10)), max_chunk=500, sleep=slept.append))
    # 2% of 100/s: chunks of 2 messages, each waiting for its 20 ms of tokens after the first.
    assert [len(c) for c in chunks] == [2, 2, 2, 2, 2]
    assert [x for c in chunks for x in c] == list(range(10))
    # The fake sleep returns at once, so reservations pile up: the last of 10 messages (burst 1) goes at
    # most 9 messages' worth of time later at the pacing rate, 98.5/s: 91 ms (less if the test was slow).
    assert ratelimit.pacing_rate(100, 1) == 98.5
    assert len(slept) >= 1
    assert 0 < slept[-1] <= 9 / 98.5 + 1e-6


def test_throttled_chunks_wait_for_each_slot(name: str, settings: Any) -> None:
    settings.SMS_GATEWAY_RATE_LIMITS = {name: (SLOW, 1)}
    slept: list[float] = []
    chunks = list(ratelimit.throttled_chunks(name, ["a", "b", "c", "d"], max_chunk=500, sleep=slept.append))
    assert chunks == [["a"], ["b"], ["c"], ["d"]]
    # Paced at half the limit (the floor of pacing_rate for a limit this slow): every second slot.
    assert ratelimit.pacing_rate(SLOW, 1) == SLOW / 2
    assert slots(slept) == [2, 4, 6]


def test_throttled_chunks_without_a_limit_use_the_batch_size(name: str, settings: Any) -> None:
    settings.SMS_GATEWAY_RATE_LIMITS = {}
    slept: list[float] = []
    chunks = list(ratelimit.throttled_chunks(name, list(range(10)), max_chunk=4, sleep=slept.append))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert slept == []
    assert ratelimit.throttle(name, 5, sleep=slept.append) == 0.0
