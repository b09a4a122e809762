"""A non-blocking lock for periodic tasks, so that two overlapping runs (a slow run and the next beat
tick, or two beat processes by mistake) never both act.

Redis (``redis-py``'s ``lock(..., blocking=False)``) when ``REDIS_URL`` is set; otherwise the cache's
atomic ``add()``, which the file cache of ``make run`` and the local-memory cache of tests both provide.
The lock expires by itself after ``timeout`` seconds so that a killed worker cannot hold it forever.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "smsplatform:lock:"
_clients: dict[str, Any] = {}


def _redis(url: str):
    import redis

    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url)
    return client


@contextmanager
def nonblocking_lock(name: str, timeout: int = 600) -> Iterator[bool]:
    """Yields True when the lock was taken (and releases it on exit), False when someone holds it."""
    key = KEY_PREFIX + name
    url = settings.REDIS_URL
    if url:
        lock = _redis(url).lock(key, timeout=timeout, blocking=False)
        acquired = lock.acquire(blocking=False)
        try:
            yield bool(acquired)
        finally:
            if acquired:
                try:
                    lock.release()
                except Exception:  # noqa: BLE001 - expired meanwhile: nothing to release
                    logger.warning("lock %s expired before its run ended", name)
        return
    from django.core.cache import cache

    token = secrets.token_hex(8)
    acquired = cache.add(key, token, timeout)
    try:
        yield bool(acquired)
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def periodic_lock(name: str | None = None, timeout: int = 600) -> Callable:
    """Decorates a periodic function so that it runs under :func:`nonblocking_lock` and returns a dict of
    counts; a run that finds the lock taken does nothing and returns ``{"skipped_locked": 1}``."""

    def decorate(func: Callable[..., dict[str, int]]) -> Callable[..., dict[str, int]]:
        lock_name = name or f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> dict[str, int]:
            with nonblocking_lock(lock_name, timeout) as acquired:
                if not acquired:
                    logger.info("%s: another run holds the lock, skipped", lock_name)
                    return {"skipped_locked": 1}
                return func(*args, **kwargs)

        return wrapper

    return decorate
