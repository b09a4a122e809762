"""Fixtures the account tests borrow: Stripe's servers, faked (outside our system)."""

from tests.billing.conftest import fake_stripe  # noqa: F401
