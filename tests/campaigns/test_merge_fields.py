"""Merge fields: French aliases render their field; unknown fields are refused with a suggestion."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from campaigns.merge_fields import merge_fields_check, unknown_fields
from campaigns.models import Campaign
from campaigns.rendering import contact_values, render
from campaigns.services import campaign_create, campaign_update, template_create
from contacts.models import Contact

from .conftest import make_audience


def no_attribute(name: str) -> bool:
    return False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Bonjour {prenom} !", "Bonjour Zoë !"),
        ("Bonjour {Prenom} {nom}", "Bonjour Zoë Lefèvre"),
        ("À {ville} ({code_postal})", "À Brest (29200)"),
        ("Bonjour {prenom|client} !", "Bonjour Zoë !"),
    ],
)
def test_french_aliases_render_their_field(body, expected):
    values = {"first_name": "Zoë", "last_name": "Lefèvre", "city": "Brest", "postal_code": "29200"}
    assert render(body, values) == expected


def test_an_alias_falls_back_like_its_field():
    assert render("Bonjour {prenom|client} !", {"first_name": ""}) == "Bonjour client !"


def test_a_custom_attribute_named_like_an_alias_wins():
    assert render("{ville}", {"ville": "Quimper", "city": "Brest"}) == "Quimper"


def test_known_fields_aliases_and_existing_attributes_pass():
    body = "Bonjour {first_name} {prenom} {nom}, {ville}: {loyalty_points} points"
    assert unknown_fields(body, attribute_exists=lambda name: name == "loyalty_points") == []
    merge_fields_check(body, attribute_exists=lambda name: name == "loyalty_points")


def test_unknown_fields_are_named_with_the_closest_known_one():
    unknown = unknown_fields("Bonjour {firstname} {coupon} {Ville}", attribute_exists=no_attribute)
    assert [(u.name, u.suggestion) for u in unknown] == [("firstname", "first_name"), ("coupon", None)]


def test_a_misspelt_alias_suggests_the_field_it_stands_for():
    unknown = unknown_fields("Bonjour {prenon}", attribute_exists=no_attribute)
    assert [(u.name, u.suggestion) for u in unknown] == [("prenon", "first_name")]


def test_an_attribute_no_contact_has_yet_is_refused():
    asked = []

    def exists(name):
        asked.append(name)
        return False

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        merge_fields_check("Votre code {coupon} et {first_name}", attribute_exists=exists)
    assert asked == ["coupon"]  # fields and aliases never cost a query
    assert caught.value.code == "unknown_merge_field"
    message = caught.value.messages[0]
    assert message.startswith("{coupon} is not a field. It would be sent as empty text.")
    assert "{first_name} ({prenom})" in message


def test_the_refusal_is_in_french_by_default():
    with translation.override("fr"), pytest.raises(ValidationError) as caught:
        merge_fields_check("Bonjour {prenon}", attribute_exists=no_attribute)
    assert "{prenon}" in caught.value.messages[0]
    assert "{first_name}" in caught.value.messages[0]


# --- saving a campaign or a template ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_refuses_an_unknown_field_with_a_suggestion(tenant_a):
    api = tenant_a.api()
    payload = {"name": "Noël", "body": "Bonjour {prenon}, -20% ce week-end", "sender_id": "FLEURS"}
    response = api.post("/api/v1/campaigns", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "{prenon} is not a field (did you mean {first_name}?)" in response.json()["body"][0]
    assert not Campaign.objects.filter(org=tenant_a.org).exists()


@pytest.mark.django_db
def test_an_alias_is_accepted_and_sent_as_the_contacts_first_name(tenant_a):
    contact_list, _contacts = make_audience(tenant_a, 1, first_name="Loïc")
    campaign = campaign_create(
        org=tenant_a.org,
        actor=tenant_a.owner,
        name="Soldes",
        body="Bonjour {prenom|client} !",
        sender_id="FLEURS",
        list_ids=[contact_list.pk],
    )
    row = Contact.objects.filter(org=tenant_a.org).values("first_name", "attributes").get()
    assert render(campaign.body, contact_values(row)) == "Bonjour Loïc !"


@pytest.mark.django_db
def test_an_attribute_is_accepted_once_a_contact_of_this_organisation_has_it(tenant_a, tenant_b):
    make_audience(tenant_b, 1, attributes={"coupon": "B-42"})
    fields = {"name": "Coupon", "body": "Votre code : {coupon}", "sender_id": "FLEURS"}
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        campaign_create(org=tenant_a.org, actor=tenant_a.owner, **fields)
    assert "{coupon} is not a field" in caught.value.message_dict["body"][0]  # tenant_b's don't count

    make_audience(tenant_a, 1, attributes={"coupon": "A-17"})
    assert campaign_create(org=tenant_a.org, actor=tenant_a.owner, **fields).body == fields["body"]


@pytest.mark.django_db
def test_editing_a_campaign_and_saving_a_template_are_checked_too(tenant_a):
    campaign = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="Soldes", body="Bonjour {first_name}", sender_id="FLEURS"
    )
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        campaign_update(org=tenant_a.org, actor=tenant_a.owner, campaign=campaign, body="Bonjour {nme}")
    assert "{nme} is not a field" in caught.value.message_dict["body"][0]
    assert Campaign.objects.get(pk=campaign.pk).body == "Bonjour {first_name}"
    with pytest.raises(ValidationError) as caught:
        template_create(org=tenant_a.org, actor=tenant_a.owner, name="Relance", body="Hello {coupon}")
    assert "body" in caught.value.message_dict
