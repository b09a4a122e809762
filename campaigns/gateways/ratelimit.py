"""Per-gateway rate limit: a token bucket shared by every worker process through Redis.

Providers cap the messages per second of an account (and the benchmark checks that a limit of 100/s is
never exceeded over any one-second window), while the pipeline runs many batch tasks in parallel, so the
bucket must be global: its state lives in Redis and is updated by one Lua script, atomically, with Redis'
own clock so that workers on different machines agree. Without ``REDIS_URL`` (the zero-setup default,
one machine) an in-process bucket stands in.

Semantics are *reservation*: :func:`acquire` takes ``n`` tokens at once, letting the bucket go into debt,
and returns how long the caller must wait before sending them. Concurrent callers therefore queue up
fairly (each gets a later slot) instead of spinning and retrying. Tokens reserved by a caller that then
crashes are simply lost, which errs on the slow side.

Settings: ``SMS_GATEWAY_RATE_LIMITS``, a dict ``{gateway name: messages per second}`` or ``{name: (rate,
burst)}``; a gateway absent from it is not limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import redis
from django.conf import settings

T = TypeVar("T")

KEY_PREFIX = "smsplatform:ratelimit:gateway:"
#: share of the per-second rate that one chunk may carry in :func:`throttled_chunks`; a chunk goes out at
#: once, so this bounds how far a one-second window can overshoot the limit (2%).
CHUNK_SHARE = 0.02

_ACQUIRE_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
end
tokens = tokens - n
local wait = 0
if tokens < 0 then
  wait = -tokens / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
-- Kept until the bucket would be full again; after that a missing key means the same thing.
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + burst / rate) * 1000) + 1000)
return string.format('%.6f', wait)
"""


class _LocalBucket:
    """The same algorithm as the Lua script, for one process, when there is no Redis."""

    def __init__(self, burst: float) -> None:
        self.tokens = burst
        self.ts = time.monotonic()

    def take(self, n: float, rate: float, burst: float) -> float:
        """Reserve ``n`` tokens; the seconds until they exist (the caller holds the module lock)."""
        now = time.monotonic()
        self.tokens = min(burst, self.tokens + max(0.0, now - self.ts) * rate)
        self.ts = now
        self.tokens -= n
        return -self.tokens / rate if self.tokens < 0 else 0.0


_local_lock = threading.Lock()
_local_buckets: dict[str, _LocalBucket] = {}
_clients_lock = threading.Lock()
_clients: dict[str, tuple[redis.Redis, object]] = {}


def _script_for(url: str) -> object:
    with _clients_lock:
        entry = _clients.get(url)
        if entry is None:
            client = redis.Redis.from_url(url)
            entry = (client, client.register_script(_ACQUIRE_LUA))
            _clients[url] = entry
        return entry[1]


def acquire(gateway_name: str, n: int, rate_per_second: float, burst: float) -> float:
    """Reserve ``n`` sends on ``gateway_name``'s bucket; returns the seconds to wait before sending them.

    ``burst`` is the bucket's capacity (how many may go out at once after an idle period). A
    ``rate_per_second`` of 0 or less means unlimited. Redis errors propagate: sending unthrottled
    because Redis is down would break the provider's limit on every worker at once.
    """
    if rate_per_second <= 0 or n <= 0:
        return 0.0
    burst = max(float(burst), 0.0)
    url = settings.REDIS_URL
    if not url:
        with _local_lock:
            bucket = _local_buckets.get(gateway_name)
            if bucket is None:
                bucket = _local_buckets[gateway_name] = _LocalBucket(burst)
            return bucket.take(n, rate_per_second, burst)
    script = _script_for(url)
    result = script(keys=[KEY_PREFIX + gateway_name], args=[rate_per_second, burst, n])  # type: ignore[operator]
    return max(0.0, float(result))


def reset(gateway_name: str) -> None:
    """Forget a gateway's bucket (tests, or an operator changing the limit)."""
    with _local_lock:
        _local_buckets.pop(gateway_name, None)
    url = settings.REDIS_URL
    if url:
        _script_for(url)
        _clients[url][0].delete(KEY_PREFIX + gateway_name)


def limit_for(gateway_name: str) -> tuple[float, float] | None:
    """``(rate, burst)`` configured for ``gateway_name`` in ``SMS_GATEWAY_RATE_LIMITS``, or None.

    A bare number is the rate; its burst then defaults to :data:`CHUNK_SHARE` of a second's worth (at
    least 1), so that a full bucket cannot push any one-second window noticeably over the limit.
    """
    limits = settings.SMS_GATEWAY_RATE_LIMITS
    value = limits.get(gateway_name)
    if not value:
        return None
    if isinstance(value, (tuple, list)):
        rate, burst = float(value[0]), float(value[1])
    else:
        rate = float(value)
        burst = max(1.0, rate * CHUNK_SHARE)
    return (rate, burst) if rate > 0 else None


def throttle(gateway_name: str, n: int, sleep: Callable[[float], object] = time.sleep) -> float:
    """Block until ``n`` messages may be sent on ``gateway_name`` under its configured limit.

    Returns the seconds slept (0 when the gateway has no limit).
    """
    limit = limit_for(gateway_name)
    if limit is None:
        return 0.0
    wait = acquire(gateway_name, n, *limit)
    if wait > 0:
        sleep(wait)
    return wait


def pacing_rate(rate: float, burst: float) -> float:
    """The rate at which :func:`throttled_chunks` refills a gateway's bucket: below the limit.

    Refilled at the full rate, a bucket of capacity ``burst`` (one chunk) lets ``burst + rate`` messages
    through some one-second windows: 102 for a limit of 100/s, as bench/pipeline.py measured, while a
    provider counting per second rejects the excess. The refill keeps one chunk of headroom for the
    bucket's own burst, and half a chunk more for the jitter between the moment a chunk is allowed and
    the moment the provider counts it (tens of milliseconds on a loaded machine). With the default burst
    (2% of a second's worth) the mean rate is 3% under the limit; never less than half the limit.
    """
    return max(rate - 1.5 * burst, rate / 2)


def throttled_chunks(
    gateway_name: str,
    items: Sequence[T],
    max_chunk: int,
    sleep: Callable[[float], object] = time.sleep,
) -> Iterator[list[T]]:
    """Yield ``items`` in chunks, each one only when the gateway's limit allows it to be sent.

    This is how the pipeline feeds ``Gateway.send_batch``: without a limit, chunks of ``max_chunk`` (the
    gateway's batch size); with one, chunks of about 2% of the per-second rate, released at the
    :func:`pacing_rate`, so that no one-second window ever carries more than the limit.
    """
    limit = limit_for(gateway_name)
    if limit is None:
        for start in range(0, len(items), max_chunk):
            yield list(items[start : start + max_chunk])
        return
    rate, burst = limit
    pace = pacing_rate(rate, burst)
    size = max(1, min(max_chunk, math.floor(rate * CHUNK_SHARE)))
    for start in range(0, len(items), size):
        chunk = list(items[start : start + size])
        wait = acquire(gateway_name, len(chunk), pace, burst)
        if wait > 0:
            sleep(wait)
        yield chunk
