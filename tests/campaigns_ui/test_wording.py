"""Words that serve several senses get a context, so that French can agree and differ: a status is not a
heading ("En cours d'envoi" / "Envoi"), a cancelled campaign is "annulée", a message "annulé"; a contact
is "créé", an API key "créée". And the calendar's buttons are capitalised in both languages."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, pgettext

from campaigns.models import CampaignStatus, MessageStatus
from contacts.services import contact_create
from smsplatform.models import Role
from smsplatform.services import api_key_create

pytestmark = pytest.mark.django_db


def test_status_and_heading_differ_in_french():
    with translation.override("fr"):
        assert str(CampaignStatus.SENDING.label) == "En cours d'envoi"
        assert str(MessageStatus.SENDING.label) == "En cours d'envoi"
        assert gettext("Sending") == "Envoi"  # the composer's section heading
        assert str(CampaignStatus.CANCELLED.label) == "Annulée"
        assert str(MessageStatus.CANCELLED.label) == "Annulé"
        assert pgettext("report funnel", "Sent") == "Envoyés"
        assert str(MessageStatus.SENT.label) == "Envoyé"
    with translation.override("en"):
        assert str(CampaignStatus.SENDING.label) == gettext("Sending") == "Sending"
        assert str(MessageStatus.CANCELLED.label) == "Cancelled"


def test_calendar_legend_shows_statuses(tenant_a):
    html = tenant_a.client().get(reverse("campaigns:calendar")).content.decode()
    assert '<span class="badge status-sending">En cours d\'envoi</span>' in html
    assert '<span class="badge status-cancelled">Annulée</span>' in html


def _calendar_config(client, language: str) -> dict:
    html = client.get(reverse("campaigns:calendar"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    raw = re.search(r'<script id="calendar-config" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(raw.group(1))


def test_calendar_buttons_are_capitalised_in_both_languages(tenant_a):
    client = tenant_a.client()
    config = _calendar_config(client, "fr")
    assert config["locale"] == "fr"
    assert config["buttonText"] == {
        "today": "Aujourd'hui",
        "month": "Mois",
        "week": "Semaine",
        "day": "Jour",
        "list": "Liste",
    }
    with translation.override("en"):
        config = _calendar_config(client, "en")
    assert config["locale"] == "en-gb"  # day first, as the other English pages
    assert config["buttonText"] == {
        "today": "Today",
        "month": "Month",
        "week": "Week",
        "day": "Day",
        "list": "List",
    }


def test_created_agrees_with_contact_and_api_key(tenant_a):
    client = tenant_a.client(Role.OWNER)
    contact_create(org=tenant_a.org, actor=tenant_a.owner, phone="+33612345670")
    api_key_create(org=tenant_a.org, actor=tenant_a.owner, name="Caisse", role=Role.ADMIN)
    assert "<th>Créé le</th>" in client.get(reverse("contacts:list")).content.decode()
    assert "<th>Créée le</th>" in client.get(reverse("api_keys")).content.decode()


def test_contact_page_names_region_and_zone(tenant_a):
    contact = contact_create(
        org=tenant_a.org, actor=tenant_a.owner, phone="+33612345670", postal_code="57070"
    )
    url = reverse("contacts:detail", args=[contact.pk])
    html = tenant_a.client().get(url).content.decode()
    assert "Alsace-Moselle (Moselle) · France métropolitaine (Europe/Paris)" in html
    with translation.override("en"):
        html = tenant_a.client().get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Alsace-Moselle (Moselle) · Mainland France (Europe/Paris)" in html
