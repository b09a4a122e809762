import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from smsplatform.errors import DomainError


class Conflict(exceptions.APIException):
    """409: the object is not in a state that allows this action."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This action is not allowed in the current state."
    default_code = "invalid_state"


logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    """DRF's handler, plus a machine ``code`` beside every ``detail`` (docs/api.md, "Errors"), Django
    validation errors raised by services rendered as 400 instead of 500, and a constraint broken by a
    concurrent request as 409 instead of 500. A :class:`DomainError` a service raised answers its own
    status with its own body (``detail``, ``code`` and what the error adds)."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(exc.data(), status=exc.http_status)
    if isinstance(exc, IntegrityError):
        # Services check what they can before writing; what still breaks a constraint at commit is a
        # concurrent change (a list or contact deleted meanwhile, foreign keys being checked at commit):
        # the client may retry. Logged, because a constraint a service forgot to check also lands here.
        logger.warning("Integrity error answered 409: %s", exc, exc_info=True)
        exc = Conflict(
            detail=_("Something this request relies on was changed at the same time. Try again."),
            code="concurrent_change",
        )
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        elif len(exc.error_list) == 1 and exc.error_list[0].code:
            # One refusal with a reason code (e.g. ``link_blocked``): ``{"detail", "code"}`` (docs/api.md).
            exc = exceptions.ValidationError({"detail": exc.messages[0], "code": exc.error_list[0].code})
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
        detail = response.data["detail"]
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data["code"] = code
    if isinstance(exc, exceptions.Throttled):
        response.data["code"] = "rate_limited"
    return Response(response.data, status=response.status_code, headers=dict(response.headers))
