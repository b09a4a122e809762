"""No Docker engine runs here: these tests keep docker-compose.yml, the Dockerfile and the Procfile
consistent with the settings the code actually reads."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCE = (ROOT / "smsplatform" / "settings.py").read_text()


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().strip().splitlines()
    return {name: cmd.strip() for name, cmd in (line.split(":", 1) for line in lines)}


def test_compose_has_the_production_services_from_one_image():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    images = {services[name]["image"] for name in ("web", "worker", "beat")}
    assert images == {"smsplatform:latest"}
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."


def test_every_environment_variable_of_the_app_is_read_by_the_settings():
    env = compose()["services"]["web"]["environment"]
    for variable in env:
        assert re.search(rf'env\.\w+\(\s*"{variable}"', SETTINGS_SOURCE), (
            f"{variable} is not read by settings.py"
        )
    assert env["DJANGO_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://redis:")


def test_commands_match_the_procfile_processes():
    services = compose()["services"]
    procs = procfile()
    assert "celery -A smsplatform worker" in procs["worker"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "smsplatform", "worker"]
    assert "celery -A smsplatform beat" in procs["beat"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "smsplatform", "beat"]
    assert "gunicorn smsplatform.wsgi:application" in " ".join(services["web"]["command"])
    assert "loopback_gateway" in procs["gateway"]
    assert "loopback_gateway" in services["gateway"]["command"]


def test_dockerfile_builds_assets_and_runs_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "npm ci" in dockerfile
    assert "collectstatic" in dockerfile
    assert "smsplatform.wsgi:application" in dockerfile
    assert "python:3.11" in dockerfile


def test_wsgi_and_celery_entry_points_import():
    from smsplatform.celery import app
    from smsplatform.wsgi import application

    assert application is not None
    assert app.main == "smsplatform"


def test_dockerfile_collectstatic_starts_the_production_settings():
    """The image build imports the production settings: every secret they require must be given there."""
    import os
    import shlex
    import subprocess
    import sys

    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(
        line for line in dockerfile.splitlines() if "collectstatic" in line and line.startswith("RUN")
    )
    assignments = dict(
        word.split("=", 1)
        for word in shlex.split(line.removeprefix("RUN"))
        if "=" in word and word[0].isupper()
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "GATEWAY_", "PAYMENT_"))}
    env.update(assignments, DJANGO_ENV="production", DJANGO_SETTINGS_MODULE="smsplatform.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_web_and_worker_share_the_media_volume():
    services = compose()["services"]
    for name in ("web", "worker"):
        assert "media:/app/var/media" in services[name]["volumes"]
