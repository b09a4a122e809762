"""Hole 7: sender IDs were free for all. Any organisation could send as another shop's brand, a bank or a
public service (smishing). A sender ID is now held by one organisation, protected names are refused,
and off the sandbox the operator approves each name with its proof."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.services import credits_grant
from campaigns.models import Campaign, CampaignStatus, Message
from campaigns.services import campaign_create, campaign_launch, sms_send_transactional
from compliance.models import ProtectedSenderName, SenderId
from compliance.sender_registry import sender_reject
from contacts.services import contact_create, contact_list_create, contacts_add_to_list
from smsplatform.models import AuditEntry, Organisation, Role
from smsplatform.onboarding import signup
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _protected_names(db):
    # Seeded by a data migration, but a transactional test elsewhere empties the table: seed it again.
    seed = importlib.import_module("compliance.migrations.0002_sender_registry")
    seed.seed_protected_names(django_apps, None)


SENDERS = "/api/v1/senders"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def audience(tenant, n=2):
    contact_list = contact_list_create(org=tenant.org, actor=tenant.owner, name="Clients")
    ids = [
        contact_create(
            org=tenant.org,
            actor=tenant.owner,
            phone=f"+336123450{i:02d}",
            consent_basis="opt_in",
            consent_source="manual",
        ).pk
        for i in range(n)
    ]
    contacts_add_to_list(org=tenant.org, actor=tenant.owner, contact_list=contact_list, contact_ids=ids)
    return contact_list


def on_real_gateway(tenant) -> None:
    Organisation.objects.filter(pk=tenant.org.pk).update(sms_gateway="twilio")
    tenant.org.refresh_from_db()


def create_campaign(api, contact_list, sender_id):
    return api.post(
        "/api/v1/campaigns",
        {"name": "Soldes", "body": "Promo -20%", "sender_id": sender_id, "list_ids": [contact_list.pk]},
        format="json",
    )


def test_a_name_is_held_by_one_organisation_whatever_its_case(tenant_a, tenant_b):
    first = tenant_a.api().post(SENDERS, {"name": "Lilas"}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "approved"  # the sandbox: the first to ask gets it at once
    assert set(first.json()) >= {"id", "name", "status", "reason"}

    taken = tenant_b.api().post(SENDERS, {"name": "LILAS"}, format="json")
    assert taken.status_code == 409
    assert taken.json()["code"] == "sender_taken"

    # Nor can B send as it, by the API or by the composer.
    b_list = audience(tenant_b)
    refused = create_campaign(tenant_b.api(), b_list, "lilas")
    assert refused.status_code == 400
    assert refused.json()["code"] == "sender_not_approved"
    page = tenant_b.client().post(
        reverse("campaigns:create"),
        {"name": "X", "body": "Promo", "category": "marketing", "sender_id": "Lilas", "when": "now",
         "list_ids": [str(b_list.pk)]},
    )  # fmt: skip
    assert page.status_code == 400
    assert "Lilas" in page.content.decode() and not Campaign.objects.filter(org=tenant_b.org).exists()


def test_protected_names_are_refused_whatever_the_spelling(tenant_a):
    api = tenant_a.api()
    for name in ("BNP", "laposte", "Ameli", "BNPParibas", "LAPOSTEFR"):
        response = api.post(SENDERS, {"name": name}, format="json")
        assert response.status_code == 400, name
        assert response.json()["code"] == "sender_protected", name
    contact_list = audience(tenant_a)
    response = create_campaign(api, contact_list, "Impots")
    assert response.status_code == 400 and response.json()["code"] == "sender_not_approved"
    # A short protected name refuses only itself: a café may send as CAFELILAS.
    assert api.post(SENDERS, {"name": "CafeLilas"}, format="json").status_code == 201
    assert not SenderId.objects.filter(name__iexact="laposte").exists()


def test_the_operator_edits_the_protected_list_in_the_admin(tenant_a, operator_client):
    assert ProtectedSenderName.objects.filter(name="CREDITAGRI").exists()  # seeded
    response = operator_client.post(
        "/admin/compliance/protectedsendername/add/", {"name": "Ma Banque", "note": "a regional bank"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ProtectedSenderName.objects.filter(name="MABANQUE").exists()
    assert AuditEntry.objects.filter(action="compliance.protected_sender_added").exists()
    response = tenant_a.api().post(SENDERS, {"name": "MABANQUE"}, format="json")
    assert response.json()["code"] == "sender_protected"


def test_launch_rechecks_a_sender_the_operator_revoked(tenant_a):
    contact_list = audience(tenant_a)
    campaign = campaign_create(
        org=tenant_a.org, actor=tenant_a.owner, name="S", body="Promo", sender_id="Lilas",
        list_ids=[contact_list.pk],
    )  # fmt: skip
    sender = SenderId.objects.get(org=tenant_a.org, name="Lilas")  # registered on the fly in the sandbox
    sender_reject(sender=sender, actor=None, reason="Not your brand")
    response = tenant_a.api().post(f"/api/v1/campaigns/{campaign.pk}/launch")
    assert response.status_code == 400
    assert response.json()["code"] == "sender_not_approved"
    assert not Message.objects.filter(campaign=campaign).exists()


def test_on_a_real_gateway_the_operator_approves_with_the_proof(
    tenant_a, operator_client, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    on_real_gateway(tenant_a)
    api = tenant_a.api()
    proof = SimpleUploadedFile("kbis.pdf", PDF, content_type="application/pdf")
    response = api.post(SENDERS, {"name": "Lilas", "proof": proof}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    sender = SenderId.objects.get(pk=response.json()["id"])
    stored = tmp_path / "private" / sender.proof.name
    assert stored.read_bytes() == PDF
    with pytest.raises(ValueError):
        _ = sender.proof.url  # never served: no public URL at all

    contact_list = audience(tenant_a)
    refused = create_campaign(api, contact_list, "Lilas")
    assert refused.status_code == 400 and refused.json()["code"] == "sender_not_approved"

    # The operator reads the proof (admin only) and approves it: audited.
    download = operator_client.get(f"/admin/compliance/senderid/{sender.pk}/proof/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert tenant_a.client().get(f"/admin/compliance/senderid/{sender.pk}/proof/").status_code == 302
    action = operator_client.post(
        "/admin/compliance/senderid/", {"action": "approve_selected", "_selected_action": [sender.pk]}
    )
    assert action.status_code == 302
    assert AuditEntry.objects.filter(action="compliance.sender_approved", org=tenant_a.org).exists()
    assert api.get(f"{SENDERS}/{sender.pk}").json()["status"] == "approved"
    created = create_campaign(api, contact_list, "Lilas")
    assert created.status_code == 201, created.content
    launched = api.post(f"/api/v1/campaigns/{created.json()['id']}/launch")
    assert launched.status_code == 200, launched.content
    assert launched.json()["status"] == CampaignStatus.SENDING


def test_a_sandbox_approval_does_not_carry_to_a_real_gateway(tenant_a):
    contact_list = audience(tenant_a)
    tenant_a.api().post(SENDERS, {"name": "Lilas"}, format="json")
    on_real_gateway(tenant_a)
    listed = tenant_a.api().get(SENDERS).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {r["name"]: r["status"] for r in rows}["Lilas"] == "pending"
    response = create_campaign(tenant_a.api(), contact_list, "Lilas")
    assert response.status_code == 400 and response.json()["code"] == "sender_not_approved"
    # Nor does a name never asked for get registered on the fly off the sandbox.
    response = create_campaign(tenant_a.api(), contact_list, "Jonquille")
    assert response.status_code == 400 and response.json()["code"] == "sender_not_approved"
    assert not SenderId.objects.filter(name="Jonquille").exists()


def test_a_proof_must_be_a_small_pdf_or_image(tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    on_real_gateway(tenant_a)
    client = tenant_a.client(Role.ADMIN)
    html = SimpleUploadedFile("proof.pdf", b"<html><script>alert(1)</script>", content_type="application/pdf")
    response = client.post(reverse("compliance:senders"), {"name": "Lilas", "proof": html})
    assert response.status_code == 400
    assert not SenderId.objects.filter(name="Lilas").exists()
    big = SimpleUploadedFile("proof.pdf", PDF + b"0" * (5 * 1024 * 1024), content_type="application/pdf")
    assert client.post(reverse("compliance:senders"), {"name": "Lilas", "proof": big}).status_code == 400
    ok = SimpleUploadedFile("../../proof.pdf", PDF, content_type="application/pdf")
    assert client.post(reverse("compliance:senders"), {"name": "Lilas", "proof": ok}).status_code == 302
    sender = SenderId.objects.get(name="Lilas")
    assert sender.status == "pending" and ".." not in sender.proof.name and sender.proof.name.endswith(".pdf")
    page = client.get(reverse("compliance:senders")).content.decode()
    assert "Lilas" in page
    gif = SimpleUploadedFile("p.gif", b"GIF89a" + b"0" * 50, content_type="image/gif")
    response = client.post(reverse("compliance:sender_proof", args=[sender.pk]), {"proof": gif})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()


def test_another_organisations_sender_is_404(tenant_a, tenant_b):
    b_sender = tenant_b.api().post(SENDERS, {"name": "Pain"}, format="json").json()
    assert tenant_a.api().get(f"{SENDERS}/{b_sender['id']}").status_code == 404
    for bogus in ("abc", "99999999999999999999999", "-1"):
        assert tenant_a.api().get(f"{SENDERS}/{bogus}").status_code == 404
    listed = tenant_a.api().get(SENDERS).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert "Pain" not in {r["name"] for r in rows}
    response = tenant_a.client().post(
        reverse("compliance:sender_proof", args=[b_sender["id"]]),
        {"proof": SimpleUploadedFile("p.pdf", PDF, content_type="application/pdf")},
    )
    assert response.status_code == 404


def test_the_default_sender_goes_through_the_registry(tenant_a):
    # Sign-up in the sandbox registered A's brand; an organisation signing up later with the same brand
    # does not get it, and cannot send under it with an empty sender either.
    assert SenderId.objects.filter(org=tenant_a.org, name__iexact="FleursdeLys", status="approved").exists()
    owner, copycat = signup(
        email="copy@example.com", password="Long-enough-pw-1", org_name="Fleurs de Lys", country="FR"
    )
    assert not SenderId.objects.filter(org=copycat).exists()
    contact_list = audience(Tenant(org=copycat, owner=owner, users={Role.OWNER: owner}))
    credits_grant(org=copycat, amount=100, reference="t", actor=None, reason="test")
    campaign = campaign_create(org=copycat, actor=owner, name="S", body="Promo", list_ids=[contact_list.pk])
    with pytest.raises(ValidationError) as refused:
        campaign_launch(org=copycat, actor=owner, campaign=campaign)
    assert getattr(refused.value, "code", None) == "sender_not_approved"
    assert "FleursdeLys" in " ".join(refused.value.messages)
    # One-to-one messages (codes, STOP confirmations) still leave, from the gateway's own number.
    message = sms_send_transactional(
        org=copycat, to="+33612345678", body="Code 1234", reason="t", charge=False
    )
    assert message.sender == ""


def test_the_settings_refuse_a_default_sender_held_by_another_organisation(tenant_a, tenant_b):
    tenant_a.api().post(SENDERS, {"name": "Lilas"}, format="json")
    response = tenant_b.client().post(
        reverse("org_settings"),
        {
            "name": tenant_b.org.name, "legal_name": tenant_b.org.legal_name, "brand": tenant_b.org.brand,
            "country": "FR", "timezone": "Europe/Paris", "default_sender_id": "LILAS",
            "stop_mention": tenant_b.org.stop_mention, "rule_pack": tenant_b.org.rule_pack,
        },
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    tenant_b.org.refresh_from_db()
    assert tenant_b.org.default_sender_id == ""


def test_short_codes_go_through_the_same_registry(tenant_a, tenant_b):
    assert tenant_a.api().post(SENDERS, {"name": "36180"}, format="json").status_code == 201
    response = tenant_b.api().post(SENDERS, {"name": "36180"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "sender_taken"


def test_rejected_names_become_free_again(tenant_a, tenant_b):
    sender_id = tenant_a.api().post(SENDERS, {"name": "Lilas"}, format="json").json()["id"]
    sender_reject(sender=SenderId.objects.get(pk=sender_id), actor=None, reason="Not yours")
    assert tenant_a.api().get(f"{SENDERS}/{sender_id}").json() == {
        **tenant_a.api().get(f"{SENDERS}/{sender_id}").json(),
        "status": "rejected",
        "reason": "Not yours",
    }
    response = tenant_b.api().post(SENDERS, {"name": "Lilas"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "approved"
    # A asking again is refused: B holds it now.
    assert tenant_a.api().post(SENDERS, {"name": "lilas"}, format="json").status_code == 409
