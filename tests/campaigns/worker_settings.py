"""Settings of the Celery worker that the integration tests start: the project's, with the batch size
taken from the environment so that a test can make a campaign span many batch tasks."""

import os

from smsplatform.settings import *  # noqa: F403

CAMPAIGN_BATCH_SIZE = int(os.environ.get("TEST_CAMPAIGN_BATCH_SIZE", "500"))
