"""Runs the parsing of an uploaded file in a forked child process with a memory ceiling.

The archive and record bounds (`guards`) stop the bombs we know of; whatever else a hostile file finds
(a parser's own blow-up) must kill a disposable child, never the web process or the worker that serves
everyone else. The child gets `RLIMIT_AS` set to its inherited address space plus a budget, so the
budget is what parsing may add whatever the size of the parent. It returns its result through a pipe; a
child that ran out of memory or died gives the user `ImportFileError("needs_too_much_memory")`.

`os.fork` rather than multiprocessing: a Celery prefork worker is a daemonic process, which
multiprocessing refuses to give children. The function run in the child must not touch the database
(the connection is the parent's) and its result must be small and picklable.
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ImportFileError

logger = logging.getLogger(__name__)

T = TypeVar("T")
_EXIT_OK = 0
_EXIT_CRASHED = 70
_READ_CHUNK = 1024 * 1024


def run_isolated(func: Callable[..., T], *args: Any, memory_bytes: int, **kwargs: Any) -> T:
    """Returns `func(*args, **kwargs)` computed in a child limited to `memory_bytes` more memory.

    The child's `ImportFileError` is raised again here, as is any other exception it pickles; running
    out of memory, or dying, raises `needs_too_much_memory`. `memory_bytes <= 0` runs `func` here.
    """
    if memory_bytes <= 0 or not hasattr(os, "fork"):
        return func(*args, **kwargs)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its outcome is asserted through the parent
        os.close(read_end)
        _child(write_end, func, args, kwargs, memory_bytes)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as pipe:
        while chunk := pipe.read(_READ_CHUNK):
            chunks.append(chunk)
    try:
        _pid, status = os.waitpid(pid, 0)
    except ChildProcessError:  # SIGCHLD ignored by the host process: the child was reaped for us
        status = None
    outcome = _outcome(b"".join(chunks), status)
    if outcome is None:
        logger.warning("An import file's parsing child died (wait status %s)", status)
        raise ImportFileError("needs_too_much_memory", limit_mb=f"{memory_bytes / (1024 * 1024):.0f}")
    kind, payload = outcome
    if kind == "ok":
        return payload
    if kind == "file_error":
        code, params = payload
        raise ImportFileError(code, **params)
    if kind == "memory":
        raise ImportFileError("needs_too_much_memory", limit_mb=f"{memory_bytes / (1024 * 1024):.0f}")
    raise payload


def _child(write_end: int, func: Callable[..., Any], args: tuple, kwargs: dict, memory_bytes: int) -> None:
    status = _EXIT_CRASHED
    try:
        _limit_address_space(memory_bytes)
        try:
            result: tuple[str, Any] = ("ok", func(*args, **kwargs))
        except ImportFileError as exc:
            result = ("file_error", (exc.code, exc.params))
        except MemoryError:
            result = ("memory", None)
        except Exception as exc:  # an engine bug: the parent reports it as it would have in-process
            result = ("error", exc)
        try:
            payload = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = pickle.dumps(("error", RuntimeError(repr(result[1]))), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        status = _EXIT_OK
    except BaseException:  # noqa: S110 - even a MemoryError while reporting must end in _exit below
        pass
    finally:
        # No atexit handlers, no flushing of the parent's buffers, no closing of its database connection.
        os._exit(status)


def _limit_address_space(memory_bytes: int) -> None:
    current = _address_space_bytes()
    if current is None:
        return
    limit = current + memory_bytes
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _outcome(data: bytes, status: int | None) -> tuple[str, Any] | None:
    """The child's report, or None when it died; it writes the report whole and only then exits 0."""
    if not data or (status is not None and (not os.WIFEXITED(status) or os.WEXITSTATUS(status) != _EXIT_OK)):
        return None
    try:
        return pickle.loads(data)  # noqa: S301 - written by our own child process
    except Exception:
        return None
