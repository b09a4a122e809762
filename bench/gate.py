"""Compliance gate and segment counting throughput, beside a floor measured in the same run."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

import django  # noqa: E402

django.setup()

from compliance.bench import main  # noqa: E402

if __name__ == "__main__":
    main()
