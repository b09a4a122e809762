"""The organisation settings page offers the rule pack and the time zone as lists, and refuses a value
that is not on them, on the server, with a clear message."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from smsplatform.forms import OrganisationSettingsForm
from smsplatform.models import Organisation, Role
from smsplatform.onboarding import organisation_settings_update
from smsplatform.timezones import timezone_choices
from tests.conftest import org_settings_form

pytestmark = pytest.mark.django_db

URL = "/settings/"


def options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_page_offers_packs_by_name_and_french_zones_first(tenant_a):
    html = tenant_a.client(Role.OWNER).get(URL).content.decode()
    packs = options(html, "rule_pack")
    assert ("FR_STRICT", "France — règles strictes des opérateurs") in packs
    assert all(label != code for code, label in packs)  # every pack has a name, not its code
    zones = [value for value, _label in options(html, "timezone")]
    assert zones[:9] == [
        "Europe/Paris",
        "America/Guadeloupe",
        "America/Martinique",
        "America/Cayenne",
        "Indian/Reunion",
        "Indian/Mayotte",
        "Pacific/Noumea",
        "Pacific/Tahiti",
        "America/Miquelon",
    ]
    assert "Asia/Tokyo" in zones and "UTC" in zones
    assert len(zones) == len(set(zones))
    assert "France métropolitaine (Europe/Paris)" in html
    assert 'value="Europe/Paris" selected' in html


def test_pack_names_in_english(tenant_a):
    with translation.override("en"):
        html = tenant_a.client(Role.OWNER).get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ("FR_STRICT", "France — strict operators&#x27; rules") in options(html, "rule_pack")
    assert "Mainland France (Europe/Paris)" in html


def test_valid_choices_are_saved(tenant_a):
    client = tenant_a.client(Role.OWNER)
    response = client.post(
        URL, org_settings_form(tenant_a.org, timezone="Indian/Reunion", rule_pack="FR_AF2M_2026")
    )
    assert response.status_code == 302
    tenant_a.org.refresh_from_db()
    assert (tenant_a.org.timezone, tenant_a.org.rule_pack) == ("Indian/Reunion", "FR_AF2M_2026")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "« Mars/Olympus » ne fait pas partie de la liste des fuseaux horaires"),
        ("rule_pack", "FR_LAX", "« FR_LAX » ne fait pas partie de la liste des règles d&#x27;envoi"),
    ],
)
def test_unknown_values_are_a_clear_form_error(tenant_a, field, value, message):
    response = tenant_a.client(Role.OWNER).post(URL, org_settings_form(tenant_a.org, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    org = Organisation.objects.get(pk=tenant_a.org.pk)
    assert (org.timezone, org.rule_pack) == ("Europe/Paris", "FR_STRICT")


def test_unknown_value_message_in_english(tenant_a):
    with translation.override("en"):
        response = tenant_a.client(Role.OWNER).post(
            URL, org_settings_form(tenant_a.org, timezone="Mars/Olympus"), HTTP_ACCEPT_LANGUAGE="en"
        )
    assert "“Mars/Olympus” is not a time zone of the list: choose one." in response.content.decode()


def test_service_refuses_an_unknown_pack_whatever_the_form(tenant_a):
    with pytest.raises(ValidationError) as exc:
        organisation_settings_update(org=tenant_a.org, actor=tenant_a.owner, rule_pack="FR_LAX")
    assert "rule_pack" in exc.value.message_dict
    assert Organisation.objects.get(pk=tenant_a.org.pk).rule_pack == "FR_STRICT"


def test_a_valid_zone_off_the_list_is_kept(tenant_a):
    Organisation.objects.filter(pk=tenant_a.org.pk).update(timezone="Etc/GMT-3")
    org = Organisation.objects.get(pk=tenant_a.org.pk)
    form = OrganisationSettingsForm(instance=org)
    values = [v for _group, zones in form.fields["timezone"].choices for v, _label in zones]
    assert "Etc/GMT-3" in values
    assert "Etc/GMT-3" not in [v for _g, zones in timezone_choices() for v, _l in zones]
