"""``python manage.py loopback_gateway``: run the loopback SMS gateway (the sandbox) until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.gateways.loopback_server import LoopbackServer


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return number


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    """Parses the options and runs :class:`LoopbackServer` in the foreground, for ``make run``'s Procfile."""

    help = "Run the loopback SMS gateway: records messages, posts receipts back, forwards replies."
    # It serves no Django URL nor model: skipping the checks makes it start even while the rest of the
    # project has an error, and start faster under honcho.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The knobs of :class:`LoopbackServer`, so the Procfile and CI can shape its behaviour."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument(
            "--receipt-delay", type=_seconds, default=2.0, help="seconds before a receipt is posted"
        )
        parser.add_argument("--fail-rate", type=_share, default=0.0, help="share of messages refused (0..1)")
        parser.add_argument(
            "--permanent-share",
            type=_share,
            default=0.5,
            help="of the refused messages, the share refused permanently (the rest are retryable)",
        )
        parser.add_argument(
            "--undelivered-rate",
            type=_share,
            default=0.0,
            help="share of accepted messages whose receipt says undelivered",
        )
        parser.add_argument(
            "--response-delay",
            type=_seconds,
            default=0.0,
            help="seconds to stall after recording a batch, to simulate a timeout after acceptance",
        )
        parser.add_argument(
            "--webhook-base",
            default=None,
            help="platform URL receiving the webhooks (default: settings.SITE_URL; '' disables them)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed, for reproducible runs")

    def handle(self, *args: Any, **options: Any) -> None:
        """Start the server, print its URL, and block until interrupted."""
        webhook_base = options["webhook_base"]
        if webhook_base is None:
            webhook_base = settings.SITE_URL
        server = LoopbackServer(
            options["host"],
            options["port"],
            receipt_delay=options["receipt_delay"],
            fail_rate=options["fail_rate"],
            permanent_share=options["permanent_share"],
            undelivered_rate=options["undelivered_rate"],
            response_delay=options["response_delay"],
            webhook_base=webhook_base,
            secret=settings.GATEWAY_WEBHOOK_SECRET,
            seed=options["seed"],
        )
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}")
        self.stdout.write(
            self.style.SUCCESS(f"Loopback SMS gateway on {server.url}")
            + f" (webhooks to {webhook_base or 'nowhere'}, receipts after {options['receipt_delay']}s,"
            f" fail rate {options['fail_rate']}). Ctrl-C to stop."
        )
        self.stdout.flush()
        if threading.current_thread() is threading.main_thread():
            # honcho and docker stop with SIGTERM: shut down as cleanly as on Ctrl-C.
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the loopback gateway.")
        finally:
            server.stop()
