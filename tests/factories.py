"""One factory per tenant-owned model: ``make(model_label, tenant)`` creates a row in that organisation.

The tenancy walk (tests/test_tenancy_walk.py) uses this registry to create a decoy behind every URL
that takes an id; a new tenant model needs a factory here, and the walk says so when it is missing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from smsplatform.models import ApiKey, Invitation, Membership, Role, User

_counter = itertools.count(1)
FACTORIES: dict[str, Callable] = {}


def factory(label: str):
    def register(func: Callable) -> Callable:
        FACTORIES[label] = func
        return func

    return register


def make(label: str, tenant):
    return FACTORIES[label](tenant)


@factory("smsplatform.membership")
def make_membership(tenant) -> Membership:
    user = User.objects.create_user(email=f"member{next(_counter)}@example.com", password="Long-enough-pw-1")
    return Membership.objects.create(org=tenant.org, user=user, role=Role.MARKETER)


@factory("smsplatform.apikey")
def make_api_key(tenant) -> ApiKey:
    from smsplatform.services import api_key_create

    return api_key_create(org=tenant.org, actor=tenant.owner, name=f"key {next(_counter)}").api_key


@factory("smsplatform.invitation")
def make_invitation(tenant) -> Invitation:
    return Invitation.objects.create(
        org=tenant.org,
        email=f"invitee{next(_counter)}@example.com",
        role=Role.ANALYST,
        token_hash=f"{next(_counter):064d}",
        invited_by=tenant.owner,
        expires_at=timezone.now() + timedelta(days=3),
    )


@factory("billing.purchase")
def make_purchase(tenant):
    from billing.models import CreditPack
    from billing.services import purchase_start

    pack, _ = CreditPack.objects.get_or_create(credits=500, defaults={"price_ht_cents": 3250})
    return purchase_start(org=tenant.org, actor=tenant.owner, pack=pack, success_url="x", cancel_url="y")[0]


@factory("billing.invoice")
def make_invoice(tenant):
    from billing.models import Invoice
    from billing.services import purchase_confirm

    return Invoice.objects.get(purchase=purchase_confirm(purchase=make_purchase(tenant)), kind="invoice")


@factory("contacts.contact")
def make_contact(tenant):
    from contacts.services import contact_create

    return contact_create(
        org=tenant.org,
        actor=tenant.owner,
        phone=f"+336{12000000 + next(_counter):08d}",
        first_name="Decoy",
        consent_basis="opt_in",
        consent_source="manual",
    )


@factory("contacts.contactlist")
def make_contact_list(tenant):
    from contacts.services import contact_list_create

    return contact_list_create(org=tenant.org, actor=tenant.owner, name=f"List {next(_counter)}")


@factory("contacts.segment")
def make_segment(tenant):
    from contacts.services import segment_create

    return segment_create(org=tenant.org, actor=tenant.owner, name=f"Segment {next(_counter)}", filters={})


@factory("contacts.importjob")
def make_import_job(tenant):
    from contacts.models import ImportJob

    # Test data: a finished job row as the import service leaves it (no file is needed to look it up).
    return ImportJob.objects.create(
        org=tenant.org,
        status="done",
        file_path="imports/none.csv",
        original_filename="decoy.csv",
        consent_basis="opt_in",
        consent_source="shop till",
        created_by=tenant.owner,
    )


@factory("compliance.senderid")
def make_sender_id(tenant):
    from compliance.models import SenderId

    return SenderId.objects.create(org=tenant.org, name=f"Sender{next(_counter)}", status="approved")


import tests.campaigns.factories  # noqa: E402, F401 - registers the campaigns factories
