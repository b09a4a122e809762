"""Hole 10: no request shaped after the OpenAPI schema makes the API answer 5xx.

schemathesis generates requests for every operation of ``/api/schema/`` (valid and invalid ones), then
chains operations through the links it infers from the schema (create a list, read it, add contacts to
it, launch a campaign...); every answer must be anything but a server error. Each 500 it found is kept as
an example in ``test_api_500s.py``.

Run deeper by hand, against a server started with ``manage.py runserver`` and an API key::

    schemathesis run http://127.0.0.1:8000/api/schema/ -H "Authorization: Bearer $KEY" \\
        --checks not_a_server_error --rate-limit 500/m
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, seed
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from smsplatform.models import Role
from smsplatform.services import api_key_create

# Small enough for about a minute in CI, enough to reach the edges of every field; derandomized with a
# fixed seed, so that a failure in CI replays identically on a laptop.
SEED = 20261203
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
STATEFUL_SETTINGS = hypothesis_settings(FUZZ_SETTINGS, max_examples=25, stateful_step_count=10)

# Read through the WSGI app as a client reads it; generating the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())


@pytest.fixture
def api_headers(tenant_a, settings):
    """An admin key of an organisation with its users; the rate limit raised, since these requests are
    in-process (the real limit protects the service from clients on the network)."""
    settings.API_RATE_LIMIT = "100000/min"
    # Django closes the connection after each request (CONN_MAX_AGE, or an open transaction): requests
    # made straight through the WSGI app must keep the test's transaction, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    key = api_key_create(org=tenant_a.org, actor=tenant_a.owner, name="fuzz", role=Role.ADMIN).raw_key
    yield {"Authorization": f"Bearer {key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@seed(SEED)
@FUZZ_SETTINGS
def test_no_operation_answers_a_server_error(case, api_headers):
    # Each example starts from the same data, so that Hypothesis sees the same API on every replay.
    with transaction.atomic():
        case.call_and_validate(headers=api_headers, checks=[not_a_server_error])
        transaction.set_rollback(True)


@pytest.mark.slow
def test_no_sequence_of_operations_answers_a_server_error(api_headers):
    class Sequences(schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the same data, so that Hypothesis sees the same API on every replay.
            self.scenario = transaction.atomic()
            self.scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": api_headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error], headers=api_headers)

    # drf-spectacular writes no OpenAPI links: schemathesis infers them from ids in the responses and the
    # paths; without any, this test would silently test nothing.
    assert schema.statistic.transitions.total > 0
    test_case = seed(SEED)(Sequences.TestCase)
    test_case.settings = STATEFUL_SETTINGS
    test_case().runTest()
