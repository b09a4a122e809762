"""The public opt-in form (``/f/<slug>/``): the sign-up, its proof-of-work challenge and the SMS code,
behind per-address rate limits."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from smsplatform.client_ip import address_bucket, client_ip
from smsplatform.models import Organisation
from smsplatform.views import apply_validation_error

from .. import forms, services
from ..optin_challenge import challenge_create


def public_url(name: str, *args) -> str:
    """The public form's URL: at the root (``/f/<slug>/``) once included there, else under /contacts/."""
    from django.urls import NoReverseMatch

    try:
        return reverse(f"contacts_public:{name}", args=args)
    except NoReverseMatch:
        return reverse(f"contacts:public_{name}", args=args)


def _client_ip(request) -> str | None:
    # Behind the proxies of settings.TRUSTED_PROXIES, REMOTE_ADDR is the proxy: one bucket for everyone.
    return client_ip(request) or None


def _rate_limited(request, scope: str, limit: int, seconds: int = 3600) -> bool:
    """A fixed-window counter per client address in the cache: the public form must not become an SMS
    cannon."""
    key = f"contacts:optin:{scope}:{address_bucket(_client_ip(request) or '') or 'unknown'}"
    if cache.add(key, 1, seconds):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        return limit < 1
    return count > limit


def _hourly_limit() -> int:
    return int(settings.OPTIN_RATE_LIMIT_PER_HOUR)


def codes_per_number() -> int:
    return int(settings.OPTIN_CODES_PER_NUMBER_PER_DAY)


def _public_org(slug: str) -> Organisation:
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise Http404
    return org


def _open_optin(slug: str):
    """The organisation and its form, or 404 while the owner has not put the form online."""
    org = _public_org(slug)
    optin = services.optin_form_get(org=org)
    if not optin.enabled:
        raise Http404
    return org, optin


class PublicOptInView(View):
    """``/f/<slug>/``: phone, first name and an unticked consent box with the organisation's wording, and
    the proof-of-work widget."""

    template_name = "public/optin.html"

    def _context(self, org, form, optin):
        return {
            "org": org,
            "form": form,
            "optin": optin,
            "challenge_url": public_url("optin_challenge", org.slug),
        }

    def get(self, request, slug):
        org, optin = _open_optin(slug)
        return render(request, self.template_name, self._context(org, forms.PublicOptInForm(org=org), optin))

    def post(self, request, slug):
        org, optin = _open_optin(slug)
        form = forms.PublicOptInForm(request.POST, org=org)
        if _rate_limited(request, "request", _hourly_limit()):
            form.is_valid()
            form.add_error(None, _("Too many attempts from your connection. Please try again later."))
            return render(request, self.template_name, self._context(org, form, optin), status=429)
        if form.is_valid():
            if form.cleaned_data.get("website"):
                return redirect(public_url("optin", slug))
            try:
                pending = services.optin_request(
                    org=org,
                    phone=form.cleaned_data["phone"],
                    first_name=form.cleaned_data["first_name"],
                    ip_address=_client_ip(request),
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return redirect(public_url("optin_confirm", slug, pending.token))
        return render(request, self.template_name, self._context(org, form, optin), status=400)


class PublicOptInChallengeView(View):
    """``/f/<slug>/challenge/``: a fresh proof-of-work challenge for the widget of an open form (JSON)."""

    def get(self, request, slug):
        org, _optin = _open_optin(slug)
        if _rate_limited(request, "challenge", _hourly_limit() * 6):
            response = JsonResponse({"error": _("Too many attempts. Please try again later.")}, status=429)
        else:
            response = JsonResponse(challenge_create(org=org))
        response["Cache-Control"] = "no-store"
        return response


class PublicOptInConfirmView(View):
    template_name = "public/optin_confirm.html"

    def get(self, request, slug, token):
        org = _public_org(slug)
        return render(request, self.template_name, {"org": org, "form": forms.PublicOptInCodeForm()})

    def post(self, request, slug, token):
        org = _public_org(slug)
        form = forms.PublicOptInCodeForm(request.POST)
        if _rate_limited(request, "confirm", _hourly_limit() * 3):
            form.is_valid()
            form.add_error(None, _("Too many attempts from your connection. Please try again later."))
            return render(request, self.template_name, {"org": org, "form": form}, status=429)
        if form.is_valid():
            try:
                services.optin_confirm(
                    org=org, token=token, code=form.cleaned_data["code"], ip_address=_client_ip(request)
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                return render(request, "public/optin_done.html", {"org": org})
        return render(request, self.template_name, {"org": org, "form": form}, status=400)
