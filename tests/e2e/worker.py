"""Starts the Celery worker of the browser test stack with the sending-window clock of
:mod:`tests.e2e.gate_clock` installed: ``python -m tests.e2e.worker <celery arguments>``."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    import django

    django.setup()
    from tests.e2e.gate_clock import install_from_env

    offset = install_from_env()
    print(f"e2e worker: sending windows evaluated at real time + {offset or 0}", flush=True)
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
