import importlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

app = Celery("smsplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work lives beside the code it drives: each app may expose BEAT_SCHEDULE in <app>/beat.py.
# Those modules hold only task names and intervals, so importing them here loads no model.
BEAT_MODULES = ("contacts.beat", "campaigns.beat", "analytics.beat")


def beat_schedule() -> dict:
    schedule: dict = {}
    for module_name in BEAT_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        schedule.update(getattr(module, "BEAT_SCHEDULE", {}))
    return schedule


app.conf.beat_schedule = beat_schedule()
