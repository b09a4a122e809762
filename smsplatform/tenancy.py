"""Tenancy base classes: the only way tenant code reaches tenant data.

Every tenant-owned model has an ``org`` foreign key. API views derive from :class:`TenantAPIView` (or the
viewset variants) and pages from :class:`OrgPageMixin` / :class:`OrgObjectMixin`. Both own
``get_queryset`` and filter it by the request's organisation; a subclass that defines ``get_queryset``
fails at import time. Subclasses refine with ``safely_get_queryset(queryset)``. Anything that must look
across organisations is named ``dangerously_*`` so that a review can grep it.

Another organisation's object is always a 404, never a 403: we do not reveal that it exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from rest_framework import generics, mixins, viewsets

from .models import Membership, Organisation, role_can
from .selectors import mfa_enrolment_pending

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _SealedQuerysetMeta(type):
    """Refuses, at class creation, a subclass that overrides the sealed ``get_queryset``."""

    sealed_name = "get_queryset"

    def __init__(cls, name, bases, namespace, **kwargs):
        super().__init__(name, bases, namespace, **kwargs)
        if namespace.get("_tenancy_root"):
            return
        if cls.sealed_name in namespace:
            raise ImproperlyConfigured(
                f"{cls.__module__}.{name} overrides {cls.sealed_name}(); tenant views must use "
                "safely_get_queryset(queryset) so that the organisation filter cannot be bypassed."
            )


def org_queryset(model: type[Model] | QuerySet, org: Organisation) -> QuerySet:
    """The rows of ``model`` (a model or a queryset) that belong to ``org``."""
    qs = model if isinstance(model, QuerySet) else model._default_manager.all()
    return qs.filter(org=org)


def get_org_object_or_404(model: type[Model] | QuerySet, org: Organisation, **lookup: Any) -> Model:
    """One row of ``org`` or a 404; the same answer for "not yours" and "does not exist"."""
    try:
        return org_queryset(model, org).get(**lookup)
    except (ValueError, TypeError) as exc:  # a malformed id is "does not exist", not a 500
        raise Http404 from exc
    except Exception as exc:
        if exc.__class__.__name__ in ("DoesNotExist", "ValidationError"):
            raise Http404 from exc
        raise


# --- API ------------------------------------------------------------------------------------------


class TenantAPIMixin:
    """Organisation and role for an API request, and the organisation-filtered queryset.

    ``required_capability`` may be set to ``"manage"`` (owners and admins) or ``"read"``; by default
    safe methods need ``read`` and others ``write`` (checked by ``HasOrganisationRole``).
    """

    queryset: QuerySet | None = None
    required_capability: str | None = None

    @property
    def org(self) -> Organisation:
        org = getattr(self.request, "org", None)
        if org is None:
            raise Http404
        return org

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def get_queryset(self) -> QuerySet:  # sealed: see _SealedQuerysetMeta
        if self.queryset is None:
            raise ImproperlyConfigured(f"{type(self).__name__} must set `queryset`.")
        return self.safely_get_queryset(org_queryset(self.queryset.all(), self.org))

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        try:
            obj = queryset.get(**{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        except (queryset.model.DoesNotExist, ValueError, TypeError):
            raise Http404
        except Exception as exc:
            if exc.__class__.__name__ == "ValidationError":  # e.g. a malformed UUID
                raise Http404
            raise
        self.check_object_permissions(self.request, obj)
        return obj


class _TenantMeta(_SealedQuerysetMeta, type(generics.GenericAPIView)):
    pass


class TenantAPIView(TenantAPIMixin, generics.GenericAPIView, metaclass=_TenantMeta):
    _tenancy_root = True


class TenantViewSet(TenantAPIMixin, viewsets.GenericViewSet, metaclass=_TenantMeta):
    _tenancy_root = True


class TenantModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    TenantViewSet,
):
    _tenancy_root = True


# --- Pages ----------------------------------------------------------------------------------------


class OrgPageMixin(LoginRequiredMixin):
    """A dashboard page of the current organisation.

    The user must be logged in and a member of the organisation selected in the session; the role must
    have ``required_capability`` (default: ``read`` for GET/HEAD, ``write`` otherwise).
    """

    required_capability: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership: Membership | None = getattr(request, "membership", None)
        if membership is None:
            return redirect("org_required")
        self.org = membership.org
        self.membership = membership
        capability = self.required_capability or ("read" if request.method in SAFE_METHODS else "write")
        if not role_can(membership.role, capability):
            raise PermissionDenied
        if mfa_enrolment_pending(membership, request.user):
            messages.warning(
                request,
                _("%(org)s requires two-factor authentication: set up an authenticator app to go on.")
                % {"org": membership.org.name},
            )
            return redirect("mfa_activate_totp")
        return super().dispatch(request, *args, **kwargs)


class _PageMeta(_SealedQuerysetMeta):
    pass


class OrgObjectMixin(OrgPageMixin, metaclass=_PageMeta):
    """Detail, update and list pages: ``model`` rows of the current organisation only."""

    _tenancy_root = True
    model: type[Model]

    def safely_get_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def get_queryset(self) -> QuerySet:  # sealed
        return self.safely_get_queryset(org_queryset(self.model, self.org))

    def get_object(self, queryset: QuerySet | None = None):
        queryset = queryset if queryset is not None else self.get_queryset()
        pk = self.kwargs.get(getattr(self, "pk_url_kwarg", "pk"))
        try:
            return queryset.get(pk=pk)
        except (queryset.model.DoesNotExist, ValueError, TypeError):
            raise Http404
