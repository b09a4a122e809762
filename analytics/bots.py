"""Who opened a short link: a person, or a machine fetching a preview.

Messaging apps fetch a link as soon as it appears in a chat to draw its preview card (WhatsApp, iMessage
via facebookexternalhit/Twitterbot, Slack, Telegram, Discord, Skype...), search engines crawl, and scripts
use HTTP libraries. None of them is a customer's click: counting them would inflate the click rate of
exactly the campaigns that were forwarded the most.
"""

from __future__ import annotations

import re

from .models import UserAgentClass

BOT_RE = re.compile(
    r"bot\b|bot/|crawler|spider|preview|slurp|facebookexternalhit|facebookcatalog|facebot|whatsapp|"
    r"telegrambot|twitterbot|slackbot|slack-imgproxy|discordbot|skypeuripreview|linkedinbot|pinterest|"
    r"googlebot|google-read-aloud|googleother|bingbot|bingpreview|applebot|yandex|baiduspider|duckduckbot|"
    r"embedly|iframely|vkshare|redditbot|quora link preview|outbrain|mastodon|"
    r"curl/|wget/|python-requests|python-urllib|python-httpx|aiohttp|httpx|go-http-client|java/|"
    r"okhttp|libwww-perl|apache-httpclient|node-fetch|axios/|undici|headlesschrome|phantomjs|"
    r"lighthouse|scrapy|postmanruntime|insomnia|http_request|winhttp|monitoring|uptime|pingdom",
    re.IGNORECASE,
)
MOBILE_RE = re.compile(r"mobile|android|iphone|ipad|ipod|windows phone|opera mini|blackberry", re.IGNORECASE)


def is_bot(user_agent: str | None) -> bool:
    """True for link-preview fetchers, crawlers, HTTP libraries and requests without a user agent."""
    ua = (user_agent or "").strip()
    if not ua:
        return True
    return bool(BOT_RE.search(ua))


def user_agent_class(user_agent: str | None) -> str:
    ua = user_agent or ""
    if MOBILE_RE.search(ua):
        return UserAgentClass.MOBILE
    if re.search(r"windows nt|macintosh|x11|cros", ua, re.IGNORECASE):
        return UserAgentClass.DESKTOP
    return UserAgentClass.OTHER
