"""The client's IP address, read correctly behind the reverse proxies the platform trusts.

``REMOTE_ADDR`` behind a proxy is the proxy: every visitor would share one rate-limit bucket. But
``X-Forwarded-For`` is written by whoever sends the request, so it is only believed when the peer that
connected to us is one of ``TRUSTED_PROXIES``, and then read from the right: the first hop that is not a
trusted proxy is the client (anything left of it may be forged).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:51234"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    ip = _parse(address)
    if ip is None:
        return False
    return any(ip in net for net in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The visitor's address: ``REMOTE_ADDR``, or the nearest untrusted hop when a trusted proxy relays."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not is_trusted_proxy(remote):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _parse(hop)
        if ip is None:
            # A malformed hop written by something we do not control: stop believing the header there.
            break
        if not is_trusted_proxy(str(ip)):
            return str(ip)
    return remote


def address_bucket(address: str) -> str | None:
    """What a rate limit counts as one visitor: the address, or for IPv6 its /64 (one subscriber gets a
    whole /64, so counting per address would let them rotate for free). None for a malformed address."""
    ip = _parse(address)
    if ip is None:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)
