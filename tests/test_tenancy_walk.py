"""Walks every URL of the API and of the dashboard that takes an id, with the ids of another
organisation's objects, and expects 404 (never 403, never 200): later endpoints are covered as they are
added, because the walk fails when a URL's model cannot be found or has no factory."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import FACTORIES

pytestmark = pytest.mark.django_db

# URLs whose parameter does not name a tenant object (public tokens, slugs, provider names).
NOT_TENANT_IDS = {
    "invitation_accept",  # a secret token, valid for anyone who has it
    "account_confirm_email",  # allauth: the secret key of a verification email
    "account_reset_password_from_key",  # allauth: the secret key of a password-reset email
    "set_language",
    "sms_webhook_status",  # a gateway name; authenticated by the gateway's signature
    "sms_webhook_inbound",
    "public_optin",  # the public opt-in form of a shop, by its public slug
    "public_optin_confirm",
    "public_optin_challenge",
    "optin",
    "optin_confirm",
    "optin_challenge",
    "short_link",  # /r/<code>: public redirect of a tracked link
}
SKIPPED_NAMESPACES = {"admin"}
IGNORED_KWARGS = {"format"}


def iter_patterns(patterns=None, namespace: str | None = None):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in SKIPPED_NAMESPACES:
                continue
            yield from iter_patterns(entry.url_patterns, ns if entry.namespace else namespace)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


def view_model(callback):
    """The model whose id the URL takes, as the view declares it."""
    for owner in (getattr(callback, "cls", None), getattr(callback, "view_class", None), callback):
        if owner is None:
            continue
        model = getattr(owner, "tenant_model", None) or getattr(owner, "model", None)
        if model is not None:
            return model
        queryset = getattr(owner, "queryset", None)
        if queryset is not None:
            return queryset.model
    return None


def id_urls():
    found = []
    for namespace, pattern in iter_patterns():
        converters = set(pattern.pattern.converters) if hasattr(pattern.pattern, "converters") else set()
        names = set(pattern.pattern.regex.groupindex) | converters
        names -= IGNORED_KWARGS
        if not names or pattern.name in NOT_TENANT_IDS:
            continue
        if any(name in pattern.pattern.regex.pattern for name in ("(?P<format>",)) and names == set():
            continue
        found.append((namespace, pattern, names))
    return found


def test_every_url_with_an_id_answers_404_for_another_organisations_object(tenant_a, tenant_b):
    problems: list[str] = []
    checked = 0
    page_client = tenant_a.client()
    api_client = tenant_a.api()
    for namespace, pattern, names in id_urls():
        label = f"{namespace + ':' if namespace else ''}{pattern.name}"
        model = view_model(pattern.callback)
        if model is None:
            problems.append(f"{label}: declare `tenant_model` (or `model`/`queryset`) on the view")
            continue
        if not hasattr(model, "org"):
            # A model without an org of its own must not sit behind an id URL of tenant code.
            problems.append(f"{label}: {model._meta.label} has no org foreign key")
            continue
        factory = FACTORIES.get(model._meta.label_lower)
        if factory is None:
            problems.append(f"{label}: add a factory for {model._meta.label_lower} in tests/factories.py")
            continue
        decoy = factory(tenant_b)
        if len(names) != 1:
            problems.append(f"{label}: several parameters {sorted(names)}; extend the walk")
            continue
        try:
            url = reverse(label, kwargs={names.pop(): decoy.pk})
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{label}: cannot reverse ({exc})")
            continue
        is_api = url.startswith("/api/")
        client = api_client if is_api else page_client
        methods = ["get", "patch", "delete"] if is_api else ["get"]
        for method in methods:
            response = getattr(client, method)(url)
            if response.status_code == 405 and method == "get":
                response = client.post(url, {})
            if response.status_code not in (404, 405) or (method == "get" and response.status_code == 405):
                problems.append(
                    f"{method.upper()} {url} ({label}) answered {response.status_code}, expected 404"
                )
        checked += 1
        assert type(decoy).objects.filter(pk=decoy.pk).exists(), (
            f"{url} deleted another organisation's object"
        )
    assert not problems, "\n".join(problems)
    assert checked >= 4, f"the walk only checked {checked} URLs"
