"""Serializer fields and validators shared by the API's apps: input that PostgreSQL or the calendar code
cannot handle is refused here with a 400 that names the field, instead of failing deeper as a 500."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# Instants the API accepts (``at``, ``scheduled_at``): quiet hours, weekends and holidays are computed
# around them, days ahead, and Python's datetime stops at year 9999. No shop schedules an SMS for 2100.
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)


class BoundedDateTimeField(serializers.DateTimeField):
    """A date and time between 2000 and 2099 (inclusive)."""

    default_error_messages = {
        "out_of_range": _("Give a date between the years 2000 and 2099."),
    }

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not EARLIEST_INSTANT <= parsed < LATEST_INSTANT:
            self.fail("out_of_range")
        return parsed


def _json_problem(value: Any, depth: int = 0) -> str | None:
    """The reason PostgreSQL's jsonb (or its UTF-8 encoding) would refuse ``value``, else None."""
    if depth > 32:
        return "too_deep"
    if isinstance(value, str):
        if "\x00" in value:
            return "null_character"
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            return "surrogate_character"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no Infinity; ``1e400`` parses to one in Python.
        return "not_finite"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _json_problem(key, depth + 1) or _json_problem(item, depth + 1)
            if problem:
                return problem
    if isinstance(value, list | tuple):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
    return None


JSON_PROBLEM_MESSAGES = {
    "null_character": _("Null characters are not allowed."),
    "surrogate_character": _("Lone surrogate characters are not allowed."),
    "not_finite": _("Numbers must be finite."),
    "too_deep": _("This value is nested too deeply."),
}


def validate_storable_json(value: Any) -> None:
    """Refuses JSON that PostgreSQL cannot store: NUL and lone surrogates in strings (keys included),
    infinite numbers, absurd nesting."""
    problem = _json_problem(value)
    if problem:
        raise serializers.ValidationError(JSON_PROBLEM_MESSAGES[problem], code=problem)


class StorableJSONField(serializers.JSONField):
    """A JSON value (also sent as a string in a multipart form) that PostgreSQL can store."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(validate_storable_json)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except RecursionError:
            # A form field parsed by json.loads: too deep for the decoder, so not usable JSON.
            self.fail("invalid")
