"""Pure tests: no database. Runs with or without pytest-django (`-p no:django` while settings are broken).

Without pytest-django nothing configures Django, yet the engine's messages are gettext_lazy proxies that
need settings when rendered: minimal settings (no i18n) are enough for that.
"""

import os

import pytest
from django.conf import settings

if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure(USE_I18N=False)

from .corpus import write_corpus  # noqa: E402


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """{file name: path} of the whole messy-file corpus, built once per session."""
    return write_corpus(tmp_path_factory.mktemp("corpus"))
