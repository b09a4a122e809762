"""What the contacts pages share: pagination without a count, boolean query parameters and the
one-button views that apply a service to one object."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from smsplatform.tenancy import OrgPageMixin, get_org_object_or_404

PAGE_SIZE = 50


def paginate_without_count(queryset, request, size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of a queryset and whether another follows, fetching ``size + 1`` rows: never a
    ``COUNT(*)`` over a million contacts."""
    try:
        number = max(1, int(request.GET.get("page", 1)))
    except (TypeError, ValueError):
        number = 1
    rows = list(queryset[(number - 1) * size : number * size + 1])
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "rows": rows[:size],
        "number": number,
        "has_next": len(rows) > size,
        "has_previous": number > 1,
        "query": query.urlencode(),
    }


def bool_param(value: str | None) -> bool | None:
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(
        (value or "").lower()
    )


class OrgObjectActionView(OrgPageMixin, View):
    """A button on one of the organisation's objects (``tenant_model``, found by ``pk``): :meth:`act`
    calls the service and returns the message to show, then the page goes to ``success_url``."""

    success_url = ""

    def act(self, obj) -> str:
        raise NotImplementedError

    def get_success_url(self, obj) -> str:
        return reverse(self.success_url)

    def post(self, request, pk):
        obj = get_org_object_or_404(self.tenant_model, self.org, pk=pk)
        messages.success(request, self.act(obj))
        return redirect(self.get_success_url(obj))
