"""Codes of the rules shown in words (compliance.display), in French and English, and the "Sending rules"
page that says each rule once."""

import re

import pytest
from django.utils import translation

from compliance.display import PACK_NAMES, calendar_name, pack_name, region_name
from compliance.packs import all_packs, effective_policy, rules_summary
from compliance.services import sending_rules_update
from contacts.services import contact_create
from smsplatform.models import Role

URL = "/compliance/"


@pytest.mark.parametrize(
    ("language", "code", "name"),
    [
        ("fr", "FR_STRICT", "France — règles strictes des opérateurs"),
        ("en", "FR_STRICT", "France — strict operators' rules"),
        ("fr", "US_TCPA", "États-Unis — loi TCPA"),
        ("en", "UK", "United Kingdom — good practice hours"),
    ],
)
def test_pack_names(language, code, name):
    with translation.override(language):
        assert pack_name(code) == name
        assert all_packs()[code].name == name


def test_every_pack_of_the_yaml_has_a_name():
    assert set(all_packs()) <= set(PACK_NAMES)


def test_a_pack_without_a_name_shows_its_label():
    assert pack_name("XX_NEW", "New pack label") == "New pack label"


@pytest.mark.parametrize(
    ("language", "key", "name"),
    [
        ("fr", "FR-57", "Alsace-Moselle (Moselle)"),
        ("fr", "FR-6AE", "Alsace-Moselle (Bas-Rhin et Haut-Rhin)"),
        ("en", "FR-6AE", "Alsace-Moselle (Bas-Rhin and Haut-Rhin)"),
        ("fr", "FR", "France métropolitaine"),
        ("en", "FR", "Mainland France"),
        ("fr", "FR-971+BL+MF", "Guadeloupe, Saint-Barthélemy et Saint-Martin"),
        ("fr", "FR-974", "La Réunion"),
        ("fr", "US-FL", "Floride"),
        ("en", "US-FL", "Florida"),
        ("fr", "BE", "Belgique"),
        ("en", "DE", "Germany"),
        ("fr", "XX-YY", "XX (YY)"),  # unknown: its code, never an error
    ],
)
def test_calendar_names(language, key, name):
    with translation.override(language):
        assert calendar_name(key) == name


def test_region_names():
    with translation.override("fr"):
        assert region_name("gf") == "Guyane"
        assert region_name("ZZ") == "ZZ"
    with translation.override("en"):
        assert region_name("YT") == "Mayotte"


def test_summary_names_the_regions_a_pack_narrows():
    with translation.override("fr"):
        summary = rules_summary(effective_policy("US_TCPA"))
    assert "Floride : SMS marketing uniquement sur la plage 08:00-20:00." in summary
    assert "Oklahoma : SMS marketing uniquement sur la plage 08:00-20:00." in summary
    assert not any("US-FL" in s for s in summary)


@pytest.mark.django_db
def test_page_says_each_rule_once_with_names_not_codes(tenant_a):
    contact_create(org=tenant_a.org, actor=tenant_a.owner, phone="+33612345670", postal_code="57000")
    contact_create(org=tenant_a.org, actor=tenant_a.owner, phone="+33612345671", postal_code="67000")
    contact_create(org=tenant_a.org, actor=tenant_a.owner, phone="+33612345672", postal_code="75011")
    html = tenant_a.client(Role.ANALYST).get(URL).content.decode()
    assert "France — règles strictes des opérateurs" in html
    assert "<h3>Alsace-Moselle (Moselle)</h3>" in html
    assert "<h3>Alsace-Moselle (Bas-Rhin et Haut-Rhin)</h3>" in html
    assert "<h3>France métropolitaine</h3>" in html
    for code in ("FR_STRICT", "FR-57", "FR-6AE", "(FR)"):
        assert code not in re.sub(r'data-testid="[^"]*"', "", html)
    # The window, the cap and the holidays rule are said once each.
    assert html.count("08:00-20:00") == 1
    assert html.count("sur 24 heures") == 1
    assert html.count("jours fériés de la région") == 1


@pytest.mark.django_db
def test_page_in_english_names_the_pack_and_the_regions(tenant_a):
    sending_rules_update(org=tenant_a.org, actor=tenant_a.owner, rule_pack="US_TCPA", restrictions={})
    with translation.override("en"):
        html = tenant_a.client(Role.ANALYST).get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "United States — TCPA" in html
    assert "Recipients in Florida: marketing SMS leave at 08:00-20:00 only." in html
    assert "US_TCPA" not in html and "US-FL" not in html
