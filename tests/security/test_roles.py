"""Hole 5: an admin could take the organisation over (promote themselves, invite an owner, demote or
remove the owner), and two concurrent demotions could leave an organisation without any owner."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from smsplatform import services
from smsplatform.models import Invitation, Membership, Role, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def membership(tenant, role: str) -> Membership:
    return Membership.objects.get(org=tenant.org, user=tenant.users[role])


def test_an_admin_cannot_promote_themselves_to_owner(tenant_a):
    own = membership(tenant_a, Role.ADMIN)
    response = tenant_a.client(Role.ADMIN).post(
        f"/settings/members/{own.pk}/role/", {"role": "owner"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    assert "Only an owner" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.ADMIN


def test_an_admin_cannot_demote_or_remove_the_owner(tenant_a):
    owner = membership(tenant_a, Role.OWNER)
    # A second owner, so that "keep one owner" is not what stops the admin.
    Membership.objects.filter(pk=membership(tenant_a, Role.MARKETER).pk).update(role=Role.OWNER)
    admin = tenant_a.client(Role.ADMIN)
    demoted = admin.post(f"/settings/members/{owner.pk}/role/", {"role": "analyst"})
    assert demoted.status_code == 403
    removed = admin.post(f"/settings/members/{owner.pk}/remove/")
    assert removed.status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_admin_cannot_invite_an_owner_and_is_not_offered_the_role(tenant_a):
    admin = tenant_a.client(Role.ADMIN)
    page = admin.get("/settings/members/").content.decode()
    assert 'value="owner"' not in page
    response = admin.post(
        "/settings/members/", {"email": "accomplice@example.com", "role": "owner"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    assert "Only an owner can invite someone as owner." in response.content.decode()
    assert not Invitation.objects.filter(email="accomplice@example.com").exists()
    # The rest of the admin's job still works.
    ok = admin.post("/settings/members/", {"email": "helper@example.com", "role": "marketer"})
    assert ok.status_code == 302
    assert Invitation.objects.filter(email="helper@example.com", role=Role.MARKETER).exists()


def test_an_owner_invitation_sent_by_an_admin_does_not_make_an_owner(tenant_a):
    # Such invitations could be sent before the fix: they must not be redeemable as owner.
    invitation = Invitation.objects.create(
        org=tenant_a.org,
        email="accomplice@example.com",
        role=Role.OWNER,
        token_hash="x" * 64,
        invited_by=tenant_a.users[Role.ADMIN],
        expires_at=timezone.now() + timedelta(days=1),
    )
    accomplice = User.objects.create_user(email="accomplice@example.com", password=PASSWORD)
    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=invitation, user=accomplice)
    assert not Membership.objects.filter(user=accomplice).exists()


def test_owners_still_grant_and_take_back_the_owner_role(tenant_a):
    owner = tenant_a.client(Role.OWNER)
    assert 'value="owner"' in owner.get("/settings/members/").content.decode()
    admin_membership = membership(tenant_a, Role.ADMIN)
    assert owner.post(f"/settings/members/{admin_membership.pk}/role/", {"role": "owner"}).status_code == 302
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.OWNER
    assert owner.post(f"/settings/members/{admin_membership.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=admin_membership.pk).exists()
    response = owner.post("/settings/members/", {"email": "partner@example.com", "role": "owner"})
    assert response.status_code == 302
    # The last owner still cannot leave the organisation ownerless.
    last = membership(tenant_a, Role.OWNER)
    refused = owner.post(f"/settings/members/{last.pk}/role/", {"role": "admin"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "at least one owner" in refused.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks are a PostgreSQL matter")
def test_two_owners_demoting_each_other_at_once_leave_one_owner(tenant_a, monkeypatch):
    org = tenant_a.org
    first = membership(tenant_a, Role.OWNER)
    second = membership(tenant_a, Role.ADMIN)
    Membership.objects.filter(pk=second.pk).update(role=Role.OWNER)
    second.refresh_from_db()

    # The first demotion stops right after counting the owners left, until the second one has either
    # counted too (no lock: both see one owner left) or is waiting for a lock held by the first.
    original = services._owners_left_after
    first_counted, release_first, second_counted = threading.Event(), threading.Event(), threading.Event()
    second_pid: list[int] = []

    def counting(org_, membership_):
        result = original(org_, membership_)
        if membership_.pk == first.pk:
            first_counted.set()
            release_first.wait()
        else:
            second_counted.set()
        return result

    monkeypatch.setattr(services, "_owners_left_after", counting)
    outcomes: dict[str, str] = {}

    def demote(name, target, actor, started=None):
        try:
            if started is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    second_pid.append(cursor.fetchone()[0])
                started.set()
            services.membership_set_role(org=org, actor=actor, membership=target, role=Role.ANALYST)
            outcomes[name] = "demoted"
        except (ValidationError, PermissionDenied):
            outcomes[name] = "refused"
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    second_started = threading.Event()
    a = threading.Thread(target=demote, args=("first", first, tenant_a.users[Role.ADMIN]))
    b = threading.Thread(target=demote, args=("second", second, tenant_a.owner, second_started))
    try:
        a.start()
        first_counted.wait()
        b.start()
        second_started.wait()
        while b.is_alive() and not second_counted.is_set():
            with connection.cursor() as cursor:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [second_pid[0]])
                row = cursor.fetchone()
            if row and row[0] == "Lock":
                break
            time.sleep(0.01)
    finally:
        release_first.set()
        a.join()
        b.join()

    assert sorted(outcomes.values()) == ["demoted", "refused"], outcomes
    assert Membership.objects.filter(org=org, role=Role.OWNER).count() == 1
