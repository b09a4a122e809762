"""The live stack for browser tests: Django's live server, a real Celery worker with embedded beat, the
loopback gateway, and Debian's Chromium driven by Playwright.

Everything talks over loopback. The worker and the gateway are separate processes, so the database must
be one they can reach: PostgreSQL (as in CI). On the SQLite in-memory default the suite is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
E2E_REDIS_DB = os.environ.get("E2E_REDIS_DB", "14")
# Where the journeys' recipients live (E.164, postal code): mainland France and La Réunion. The sending
# windows of the stack are evaluated at an instant where the French pack lets both receive marketing
# SMS (see tests/e2e/gate_clock.py).
RECIPIENT_SAMPLES = [("+33612345678", "75011"), ("+262692123456", "97400")]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_base_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - any failure means "no Redis here"
        return None
    return url.rsplit("/", 1)[0]


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f}s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def e2e_requirements():
    from django.db import connection

    # Playwright's sync API keeps an event loop running in the test thread; Django then refuses database
    # calls from that thread (fixtures' flush) unless told that this is a synchronous test process.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    if connection.vendor != "postgresql":
        pytest.skip("browser tests need PostgreSQL: the worker and gateway run in other processes")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    if redis_base_url() is None:
        pytest.skip("browser tests need Redis for the Celery broker")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed")


@pytest.fixture
def gate_offset(monkeypatch):
    """The offset of the sending-window clock (zero when the real instant is inside the windows),
    installed in this process (the live server); the worker gets it through the environment."""
    from tests.e2e import gate_clock

    offset = gate_clock.offset_for(RECIPIENT_SAMPLES)
    gate_clock.install(offset, monkeypatch.setattr)
    return offset


def use_broker(app, url: str) -> None:
    """Points the Celery app of this process at another broker. Earlier tests of the session may have
    opened producer connections to the suite's broker; they are pooled, so they must be dropped or the
    live server would keep enqueuing where no worker of the stack listens."""
    from kombu import pools

    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def stack(e2e_requirements, live_server, transactional_db, settings, tmp_path, gate_offset):
    """Worker (with beat) and loopback gateway wired to the live server and the test database."""
    from django.db import connection

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    broker = f"{redis_base_url()}/{E2E_REDIS_DB}"
    import redis

    redis.Redis.from_url(broker).flushdb()
    gateway_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    settings.LOOPBACK_GATEWAY_URL = gateway_url
    settings.SITE_URL = live_server.url
    settings.CELERY_BROKER_URL = broker
    from smsplatform.celery import app as celery_app

    previous_broker = celery_app.conf.broker_url
    use_broker(celery_app, broker)
    celery_app.conf.task_always_eager = False
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "LOOPBACK_GATEWAY_URL": gateway_url,
        "SITE_URL": live_server.url,
        "SMS_GATEWAY": "loopback",
        "DJANGO_ENV": "development",
        "PYTHONUNBUFFERED": "1",
        "E2E_GATE_OFFSET": str(int(gate_offset.total_seconds())),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []

    def spawn(name: str, args: list[str]):
        out = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        processes.append((name, proc, out))
        return proc

    spawn(
        "worker",
        [
            sys.executable,
            "-m",
            "tests.e2e.worker",
            "-A",
            "smsplatform",
            "worker",
            "--beat",
            "--loglevel=INFO",
            "--concurrency=2",
            f"--schedule={tmp_path / 'beat-schedule'}",
        ],
    )
    spawn(
        "gateway",
        [
            sys.executable,
            "manage.py",
            "loopback_gateway",
            "--port",
            str(gateway_port),
            "--receipt-delay",
            "1",
            "--webhook-base",
            live_server.url,
        ],
    )
    try:
        wait_for(lambda: http_ok(f"{gateway_url}/health"), 30, what="the loopback gateway")
        wait_for(lambda: "ready" in (logs / "worker.log").read_text(), 60, what="the Celery worker")
    except AssertionError:
        for name, _proc, out in processes:
            out.flush()
            print(f"--- {name} log ---\n{(logs / f'{name}.log').read_text()[-4000:]}")
        raise
    yield {"url": live_server.url, "gateway": gateway_url, "logs": logs, "gate_offset": gate_offset}
    use_broker(celery_app, previous_broker)
    for _name, proc, _out in processes:
        proc.terminate()
    for name, proc, out in processes:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
        if os.environ.get("E2E_SHOW_LOGS"):
            print(f"--- {name} log ---\n{(logs / f'{name}.log').read_text()[-4000:]}")


@pytest.fixture(scope="session")
def browser(e2e_requirements):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page_factory(browser):
    contexts = []

    def make(locale: str = "fr-FR", viewport=None):
        context = browser.new_context(locale=locale, viewport=viewport or {"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def clear_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def email_link(address: str, path_pattern: str) -> str:
    """The path of the link matching ``path_pattern`` (a regular expression for a path) in the latest
    email sent to ``address`` that has one. The live server runs in the test process: its emails are in
    ``django.core.mail.outbox``, sent before its answer to the request that sent them."""
    from django.core import mail

    sent = [m for m in mail.outbox if address.lower() in (to.lower() for to in m.to)]
    assert sent, f"no email was sent to {address} (outbox: {[m.to for m in mail.outbox]})"
    for message in reversed(sent):
        match = re.search(rf"https?://[^/\s]+({path_pattern})", message.body)
        if match:
            return match.group(1)
    subjects = [m.subject for m in sent]
    raise AssertionError(f"no link {path_pattern} in the emails to {address}: {subjects}\n{sent[-1].body}")
