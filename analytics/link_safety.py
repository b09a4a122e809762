"""Short links must not lead to known phishing hosts: an SMS from a trusted sender with our own short
domain is exactly what a smishing campaign would want to borrow."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import BlockedLinkHost


def normalise_host(value: str) -> str:
    """``https://Login.Evil.example./x`` and ``login.evil.example`` are the same host."""
    value = (value or "").strip()
    if "://" not in value:
        value = f"https://{value}"
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def _suffixes(host: str) -> list[str]:
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


CACHE_KEY = "analytics:blocked-link-hosts"
CACHE_SECONDS = 300


def _blocklist() -> frozenset[str]:
    """The whole list, from the cache: every click checks it, and it is a short list changed by hand."""
    listed = cache.get(CACHE_KEY)
    if listed is None:
        listed = frozenset(BlockedLinkHost.objects.values_list("host", flat=True))
        cache.set(CACHE_KEY, listed, CACHE_SECONDS)
    return listed


def blocklist_changed() -> None:
    """Call after the operator edits the list, so that it applies at once rather than within minutes."""
    cache.delete(CACHE_KEY)


def blocked_hosts(urls: Iterable[str]) -> list[str]:
    """The hosts of ``urls`` that the operator's blocklist names (itself or a parent domain)."""
    hosts = {normalise_host(url) for url in urls} - {""}
    if not hosts:
        return []
    listed = _blocklist()
    return sorted(host for host in hosts if listed.intersection(_suffixes(host)))


def ensure_links_allowed(urls: Iterable[str]) -> None:
    """Refuses (ValidationError ``link_blocked``) a body whose links lead to a blocked host."""
    blocked = blocked_hosts(urls)
    if blocked:
        raise ValidationError(
            _(
                "This message links to %(hosts)s, which the platform blocks as a known phishing or abuse "
                "site. Remove the link or contact support if this is a mistake."
            )
            % {"hosts": ", ".join(blocked)},
            code="link_blocked",
        )
