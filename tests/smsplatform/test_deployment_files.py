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
