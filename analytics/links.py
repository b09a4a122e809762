"""Tracked short links: a campaign body's URLs become one short link per recipient on our own domain.

Two steps, so that the launch stays a few queries whatever the audience:

1. :func:`shorten_body` once per campaign, before personalisation: each URL of the body becomes a
   :class:`~analytics.models.TrackedLink` and is replaced by a *placeholder of exactly the length of the
   final short link* (``{SHORT_LINK_DOMAIN}/r/@0000001``). Merge fields, encoding and segments computed on
   that template are therefore already right: a short link costs what it will really cost.
2. :func:`links_for_messages` once per batch of rendered messages (their ids exist): one code per
   (message, link), inserted in bulk, placeholders replaced by the real links. Calling it again for the
   same messages (a retried task, a relaunch) returns the same bodies: existing codes are reused.

Codes are 8 base62 characters from :mod:`secrets` (47 bits): short in an SMS, and guessing one that
exists takes millions of tries even with hundreds of millions of codes issued.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Message
from smsplatform.models import Organisation

from .link_safety import ensure_links_allowed
from .models import CampaignLinkOptions, LinkCode, TrackedLink

ALPHABET = string.ascii_letters + string.digits
PLACEHOLDER_MARK = "@"  # in the GSM-7 basic set: a placeholder never changes the encoding
INSERT_CHUNK = 2000
MAX_CODE_ATTEMPTS = 5
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

# http(s) URLs and bare "www." addresses; trailing punctuation of the sentence is not part of the URL.
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'{}|\\^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]'\""


def code_length() -> int:
    return settings.SHORT_LINK_CODE_LENGTH


def short_link_prefix() -> str:
    """``https://<domain>/r/``: what every short link starts with."""
    domain = settings.SHORT_LINK_DOMAIN or settings.SITE_URL
    return f"{domain.rstrip('/')}/r/"


def short_link_length() -> int:
    """How many characters a tracked link takes in an SMS: what the composer counts for each URL."""
    return len(short_link_prefix()) + code_length()


def find_urls(body: str) -> list[tuple[int, int, str]]:
    """The URLs of a body as (start, end, url), our own short links excluded (already tracked)."""
    prefix = short_link_prefix()
    found = []
    for match in URL_RE.finditer(body or ""):
        url = match.group(0).rstrip(_TRAILING)
        if not url or url.startswith(prefix) or len(url) <= 4:
            continue
        found.append((match.start(), match.start() + len(url), url))
    return found


def _placeholder(index: int) -> str:
    return f"{short_link_prefix()}{PLACEHOLDER_MARK}{index:0{code_length() - 1}d}"


def _placeholder_re() -> re.Pattern:
    return re.compile(
        re.escape(short_link_prefix()) + re.escape(PLACEHOLDER_MARK) + rf"(\d{{{code_length() - 1}}})"
    )


def body_for_counting(body: str) -> str:
    """The body with each URL replaced by a text of its short link's length: for the composer's counter
    and the estimate (characters, segments and credits as they will be)."""
    urls = find_urls(body)
    if not urls:
        return body
    out, last = [], 0
    for i, (start, end, _url) in enumerate(urls, 1):
        out.append(body[last:start])
        out.append(_placeholder(i))
        last = end
    out.append(body[last:])
    return "".join(out)


def preview_links(text: str) -> str:
    """A counting placeholder shown as a short link of the same length (``https://<domain>/r/xxxxxxxx``):
    for the composer's preview of what a recipient receives."""
    sample = f"{short_link_prefix()}{'x' * code_length()}"
    return _placeholder_re().sub(sample, text) if PLACEHOLDER_MARK in text else text


def _normalised(url: str) -> str:
    return url if url.lower().startswith(("http://", "https://")) else f"https://{url}"


def default_expiry() -> timedelta | None:
    days = settings.SHORT_LINK_TTL_DAYS
    return timedelta(days=int(days)) if days else None


def _campaign_links(org: Organisation, campaign_id: int) -> list[TrackedLink]:
    """The campaign's links in creation order: a placeholder's number is a position in this list."""
    return list(TrackedLink.objects.filter(org=org, campaign_id=campaign_id).order_by("id").only("id", "url"))


def shorten_body(
    *,
    org: Organisation,
    campaign_id: int,
    body: str,
    utm: Mapping[str, str] | None = None,
) -> tuple[str, list[TrackedLink]]:
    """Replaces the URLs of a campaign's body by placeholders of the short link's length and records each
        distinct URL once (a relaunch reuses the campaign's links). Returns the template and the links it
        uses. ``utm`` None means the campaign's options (:func:`analytics.services.campaign_utm_set`). A few
    queries, none when the body has no URL."""
    urls = find_urls(body)
    if not urls:
        return body, []
    distinct = list(dict.fromkeys(_normalised(url) for _s, _e, url in urls))
    ensure_links_allowed(distinct)
    if utm is None:
        utm = (
            CampaignLinkOptions.objects.filter(org=org, campaign_id=campaign_id)
            .values_list("utm", flat=True)
            .first()
        )
    links = _campaign_links(org, campaign_id)
    known = {link.url for link in links}
    ttl = default_expiry()
    now = timezone.now()
    missing = [
        TrackedLink(
            org=org,
            campaign_id=campaign_id,
            url=url,
            utm=dict(utm or {}),
            created_at=now,
            expires_at=now + ttl if ttl else None,
        )
        for url in distinct
        if url not in known
    ]
    if missing:
        TrackedLink.objects.bulk_create(missing)
        links = _campaign_links(org, campaign_id)
    index_of: dict[str, int] = {}
    for i, link in enumerate(links, 1):
        index_of.setdefault(link.url, i)
    out, last = [], 0
    for start, end, url in urls:
        out.append(body[last:start])
        out.append(_placeholder(index_of[_normalised(url)]))
        last = end
    out.append(body[last:])
    used = {index_of[url] for url in distinct}
    return "".join(out), [link for i, link in enumerate(links, 1) if i in used]


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(code_length()))


def links_for_messages(
    *,
    org: Organisation,
    campaign_id: int,
    items: Sequence[tuple[int, str]],
) -> dict[int, str]:
    """Gives each message its own short links: ``{message_id: body with real links}``.

    ``items`` are (message id, body rendered from :func:`shorten_body`'s template). Bodies without a
    placeholder come back unchanged. Idempotent: codes already issued for a (message, link) are reused.
    A constant number of queries per call (links, existing codes, message contacts, bulk inserts).
    """
    pattern = _placeholder_re()
    wanted: dict[int, set[int]] = {}
    for message_id, body in items:
        indexes = {int(m.group(1)) for m in pattern.finditer(body)}
        if indexes:
            wanted[message_id] = indexes
    if not wanted:
        return {message_id: body for message_id, body in items}
    by_index = {i: link.pk for i, link in enumerate(_campaign_links(org, campaign_id), 1)}
    codes = _codes_for(org, campaign_id, wanted, by_index)
    result: dict[int, str] = {}
    prefix = short_link_prefix()
    for message_id, body in items:
        if message_id not in wanted:
            result[message_id] = body
            continue

        def replace(match: re.Match, message_id: int = message_id) -> str:
            link_id = by_index.get(int(match.group(1)))
            code = codes.get((message_id, link_id))
            return f"{prefix}{code}" if code else match.group(0)

        result[message_id] = pattern.sub(replace, body)
    return result


def _codes_for(
    org: Organisation, campaign_id: int, wanted: Mapping[int, Iterable[int]], by_index: Mapping[int, int]
) -> dict[tuple[int, int], str]:
    """Existing and new codes for each (message, link) wanted, inserted in bulk."""
    message_ids = list(wanted)
    codes: dict[tuple[int, int], str] = {
        (m, link): code
        for m, link, code in LinkCode.objects.filter(org=org, message_id__in=message_ids).values_list(
            "message_id", "link_id", "code"
        )
    }
    contacts = dict(Message.objects.filter(org=org, pk__in=message_ids).values_list("id", "contact_id"))
    for _attempt in range(MAX_CODE_ATTEMPTS):
        pending = [
            LinkCode(
                org=org,
                link_id=by_index[i],
                message_id=m,
                campaign_id=campaign_id,
                contact_id=contacts.get(m),
                code=new_code(),
            )
            for m, indexes in wanted.items()
            for i in sorted(indexes)
            if i in by_index and (m, by_index[i]) not in codes
        ]
        if not pending:
            return codes
        try:
            with transaction.atomic():
                for start in range(0, len(pending), INSERT_CHUNK):
                    LinkCode.objects.bulk_create(pending[start : start + INSERT_CHUNK])
        except IntegrityError:
            # A code collided (rare) or another run issued codes for the same messages: read what exists
            # and try again with fresh codes for the rest.
            codes.update(
                {
                    (m, link): code
                    for m, link, code in LinkCode.objects.filter(
                        org=org, message_id__in=message_ids
                    ).values_list("message_id", "link_id", "code")
                }
            )
            continue
        codes.update({(c.message_id, c.link_id): c.code for c in pending})
        return codes
    raise RuntimeError("could not issue unique short link codes")


def target_url(url: str, utm: Mapping[str, str] | None) -> str:
    """The original URL with the campaign's UTM parameters (those already in the URL are kept)."""
    if not utm:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    # In the conventional order (a JSON column may have sorted the keys).
    ordered = sorted(
        utm.items(), key=lambda item: (UTM_KEYS.index(item[0]) if item[0] in UTM_KEYS else 99, item[0])
    )
    query += [(key, value) for key, value in ordered if value and key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def default_utm(campaign_name: str) -> dict[str, str]:
    """UTM parameters a campaign gets when its owner turns them on: source sms, medium sms, its name."""
    from django.utils.text import slugify

    return {
        "utm_source": "sms",
        "utm_medium": "sms",
        "utm_campaign": slugify(campaign_name)[:60] or "campaign",
    }
