"""The "Sending rules" settings form: pack choice and the organisation's own, stricter rules."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from compliance.checker import check_number, org_policy
from compliance.models import OrgSendingPolicy
from compliance.selectors import org_restrictions
from smsplatform.models import AuditEntry, Role

pytestmark = pytest.mark.django_db

URL = "/compliance/"
PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"


def form_data(**overrides):
    data = {
        "rule_pack": "FR_STRICT",
        "hours": "",
        "blocked_dates": "",
        "max_per_24h": "",
        "max_per_7d": "",
        **{f"hours_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    }
    data.update(overrides)
    return data


def test_owner_narrows_hours_and_closes_mondays_checker_defers_to_tuesday(tenant_a):
    client = tenant_a.client(Role.OWNER)
    response = client.post(URL, form_data(hours="09:00-19:00", closed_weekdays=["mon"]), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.redirect_chain and response.redirect_chain[0][0].startswith(URL)
    stored = org_restrictions(tenant_a.org)
    assert stored["closed_weekdays"] == ["mon"]
    assert stored["windows"] == {d: ["09:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
    # Plain words after saving, in French by default.
    assert 'data-testid="summary"' in html
    assert "du mardi au samedi" in html.lower()
    assert "09:00-19:00" in html
    assert "lundi" in html

    # 2026-06-15 is a Monday (not a holiday): 10:00 Paris is deferred to Tuesday 09:00 Paris.
    result = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 6, 15, 10, 0, tzinfo=PARIS))
    assert result.decision.outcome == "defer"
    assert result.decision.next_allowed_at == datetime(2026, 6, 16, 9, 0, tzinfo=PARIS)
    assert result.decision.next_allowed_at == datetime(2026, 6, 16, 7, 0, tzinfo=UTC)
    # Tuesday 19:00 is now outside (the pack alone allows it): deferred to Wednesday 09:00.
    late = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 6, 16, 19, 0, tzinfo=PARIS))
    assert late.decision.next_allowed_at == datetime(2026, 6, 17, 9, 0, tzinfo=PARIS)

    # The checker of the page uses the same effective policy.
    page = client.get(URL, {"phone": PHONE, "date": "2026-06-15", "time": "10:00", "category": "marketing"})
    page_html = page.content.decode()
    assert 'data-testid="checker-result"' in page_html
    next_line = page_html.split('data-testid="checker-next">')[1].split("</p>")[0]
    assert "16 juin 2026 09:00" in next_line  # the next allowed time, in the recipient's own time


def test_looser_window_is_refused_with_a_clear_message_in_french(tenant_a):
    response = tenant_a.client(Role.OWNER).post(URL, form_data(hours="07:00-19:00"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="error-hours"' in html
    assert (
        "07:00-19:00" in html and "France — règles strictes des opérateurs" in html and "08:00-20:00" in html
    )
    assert "Du lundi au samedi" in html  # one message for the six days, not six
    assert html.count("07:00-19:00 ") == 1
    assert not OrgSendingPolicy.objects.filter(org=tenant_a.org).exists()
    assert org_policy(tenant_a.org).base.windows[0] == ((8 * 60, 20 * 60),)


def test_looser_window_message_in_english(tenant_a):
    client = tenant_a.client(Role.ADMIN)
    with translation.override("en"):
        response = client.post(URL, form_data(hours="07:00-19:00"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert (
        "Monday to Saturday: 07:00-19:00 goes beyond the hours of “France — strict operators&#x27; rules” "
        "(08:00-20:00)" in html
    )


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"max_per_7d": "5"}, "max_per_7d", "FR_STRICT"),
        ({"max_per_24h": "2"}, "max_per_24h", "FR_STRICT"),
        ({"max_per_7d": "0"}, "max_per_7d", ""),
        ({"hours": "20:00-08:00"}, "hours", "20:00-08:00"),
        ({"blocked_dates": "31/02/2026"}, "blocked_dates", "31/02/2026"),
    ],
)
def test_invalid_or_looser_values_are_shown_on_their_field(tenant_a, data, field, fragment):
    response = tenant_a.client(Role.OWNER).post(URL, form_data(**data))
    html = response.content.decode()
    assert f'data-testid="error-{field}"' in html
    assert fragment in html
    assert not OrgSendingPolicy.objects.filter(org=tenant_a.org).exists()


def test_sunday_cannot_be_opened_under_a_pack_that_blocks_it(tenant_a):
    response = tenant_a.client(Role.OWNER).post(URL, form_data(hours_sun="10:00-12:00"))
    html = response.content.decode()
    assert 'data-testid="settings-error"' in html
    assert "FR_STRICT" in html
    assert not OrgSendingPolicy.objects.filter(org=tenant_a.org).exists()


def test_closing_dates_lower_caps_and_lunch_break(tenant_a):
    response = tenant_a.client(Role.OWNER).post(
        URL,
        form_data(
            hours="9h-12h et 14h-19h", blocked_dates="15/08/2026\n2026-08-17, 24/12/2026", max_per_7d="2"
        ),
        follow=True,
    )
    assert response.status_code == 200
    stored = org_restrictions(tenant_a.org)
    assert stored["windows"]["mon"] == ["09:00-12:00", "14:00-19:00"]
    assert stored["blocked_dates"] == ["2026-08-15", "2026-08-17", "2026-12-24"]
    assert stored["max_per_7d"] == 2
    rules = org_policy(tenant_a.org).base
    assert rules.max_per_7d == 2 and rules.max_per_24h == 1
    # 2026-08-17 is a Monday, closed by the shop: 10:00 is deferred to Tuesday 09:00.
    result = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 8, 17, 10, 0, tzinfo=PARIS))
    assert result.decision.next_allowed_at == datetime(2026, 8, 18, 9, 0, tzinfo=PARIS)
    assert "closed_day" in result.decision.codes
    # 12:30 on a Wednesday (lunch break) waits for 14:00.
    lunch = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 8, 19, 12, 30, tzinfo=PARIS))
    assert lunch.decision.next_allowed_at == datetime(2026, 8, 19, 14, 0, tzinfo=PARIS)
    # The form shows what is stored.
    html = response.content.decode()
    assert "15/08/2026" in html and "09:00-12:00, 14:00-19:00" in html


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MARKETER])
def test_analyst_and_marketer_cannot_post(tenant_a, role):
    client = tenant_a.client(role)
    response = client.post(URL, form_data(rule_pack="FR_AF2M_2024", hours="09:00-19:00"))
    assert response.status_code == 403
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.rule_pack == "FR_STRICT"
    assert not OrgSendingPolicy.objects.filter(org=tenant_a.org).exists()
    # They still read the page, without the form.
    page = client.get(URL)
    assert page.status_code == 200
    assert 'data-testid="settings-form"' not in page.content.decode()
    assert 'data-testid="summary"' in page.content.decode()


def test_pack_change_is_audited_and_applies(tenant_a):
    response = tenant_a.client(Role.ADMIN).post(URL, form_data(rule_pack="FR_AF2M_2024"), follow=True)
    assert response.status_code == 200
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.rule_pack == "FR_AF2M_2024"
    admin = tenant_a.user(Role.ADMIN)
    generic = AuditEntry.objects.get(org=tenant_a.org, action="organisation.updated")
    assert generic.actor == admin and generic.data == {"fields": ["rule_pack"]}
    entry = AuditEntry.objects.get(org=tenant_a.org, action="compliance.rule_pack_changed")
    assert entry.actor == admin
    assert entry.data == {"from": "FR_STRICT", "to": "FR_AF2M_2024"}
    assert "08:00-22:00" in response.content.decode()
    # 21:00 on a weekday is now allowed.
    result = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 6, 16, 21, 0, tzinfo=PARIS))
    assert result.decision.outcome == "allow"


def test_pack_and_restrictions_are_validated_together(tenant_a):
    client = tenant_a.client(Role.OWNER)
    client.post(URL, form_data(rule_pack="FR_AF2M_2024", hours="09:00-21:00"))
    assert org_restrictions(tenant_a.org)["windows"]["mon"] == ["09:00-21:00"]
    # Back to FR_STRICT keeping 09:00-21:00: refused as a whole, the pack does not change.
    response = client.post(URL, form_data(rule_pack="FR_STRICT", hours="09:00-21:00"))
    assert "FR_STRICT" in response.content.decode()
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.rule_pack == "FR_AF2M_2024"
    assert not AuditEntry.objects.filter(org=tenant_a.org, action="compliance.rule_pack_changed").exclude(
        data__to="FR_AF2M_2024"
    )


def test_unknown_pack_is_refused(tenant_a):
    response = tenant_a.client(Role.OWNER).post(URL, form_data(rule_pack="NOWHERE"))
    assert 'data-testid="error-rule_pack"' in response.content.decode()
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.rule_pack == "FR_STRICT"


def test_saving_unchanged_rules_writes_no_audit_row(tenant_a):
    client = tenant_a.client(Role.OWNER)
    client.post(URL, form_data(closed_weekdays=["mon"]))
    client.post(URL, form_data(closed_weekdays=["mon"]))
    assert AuditEntry.objects.filter(org=tenant_a.org, action="compliance.sending_policy_set").count() == 1


def test_form_is_prefilled_with_the_stored_rules(tenant_a):
    client = tenant_a.client(Role.OWNER)
    client.post(URL, form_data(hours="09:00-19:00", closed_weekdays=["mon"]))
    html = client.get(URL).content.decode()
    assert 'name="hours" value="09:00-19:00"' in html
    assert 'name="closed_weekdays" value="mon"' in html and "checked" in html


def test_other_organisation_is_untouched(tenant_a, tenant_b):
    tenant_a.client(Role.OWNER).post(URL, form_data(closed_weekdays=["mon"], rule_pack="FR_AF2M_2024"))
    tenant_b.org.refresh_from_db()
    assert tenant_b.org.rule_pack == "FR_STRICT"
    assert org_restrictions(tenant_b.org) == {}


def test_restrictions_left_looser_by_a_pack_change_elsewhere_are_kept_but_never_widen(tenant_a):
    """Bug fixed in checker.org_policy: a pack changed from the organisation settings (not this page)
    used to drop ALL the organisation's restrictions when one became looser than the new pack, so a
    shop's weekly closing day silently stopped applying. Now they are intersected with the pack."""
    from smsplatform.services import organisation_update

    tenant_a.client(Role.OWNER).post(
        URL, form_data(rule_pack="FR_AF2M_2024", hours="09:00-21:00", closed_weekdays=["mon"], max_per_7d="2")
    )
    organisation_update(org=tenant_a.org, actor=tenant_a.owner, rule_pack="FR_STRICT")
    rules = org_policy(tenant_a.org).base
    assert rules.effective_windows[0] == ()  # Monday still closed
    assert rules.effective_windows[1] == ((9 * 60, 20 * 60),)  # 09:00 kept, 21:00 cut to the pack's 20:00
    assert rules.max_per_7d == 2
    monday = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 6, 15, 10, 0, tzinfo=PARIS))
    assert monday.decision.next_allowed_at == datetime(2026, 6, 16, 9, 0, tzinfo=PARIS)
    evening = check_number(org=tenant_a.org, phone=PHONE, at=datetime(2026, 6, 16, 20, 30, tzinfo=PARIS))
    assert evening.decision.outcome == "defer"


def test_malformed_stored_restrictions_fall_back_to_the_pack(tenant_a):
    OrgSendingPolicy.objects.create(org=tenant_a.org, restrictions={"windows": {"funday": "x"}})
    assert org_policy(tenant_a.org).base.windows[0] == ((8 * 60, 20 * 60),)
    assert tenant_a.client(Role.OWNER).get(URL).status_code == 200


def test_plain_words_in_english_and_discouraged_days():
    from compliance.packs import describe_rules, effective_policy

    with translation.override("en"):
        text = describe_rules(
            effective_policy(
                "FR_AF2M_2026", {"windows": {"tue-sat": "10:00-19:00"}, "closed_weekdays": ["mon"]}
            ).base
        )
        assert text[0] == "Tuesday to Saturday: marketing SMS leave at 10:00-19:00 (recipient's local time)."
        assert text[1] == "Sunday: marketing SMS leave at 08:00-21:30 (recipient's local time)."
        assert "Days without marketing SMS: Monday." in text
        assert any("Sundays are allowed but discouraged" in t for t in text)
        strict = describe_rules(effective_policy("FR_STRICT", {"closed_weekdays": ["mon"]}).base)
        assert (
            strict[0] == "Tuesday to Saturday: marketing SMS leave at 08:00-20:00 (recipient's local time)."
        )
        assert "Days without marketing SMS: Monday and Sunday." in strict
    with translation.override("fr"):
        strict = describe_rules(effective_policy("FR_STRICT", {"closed_weekdays": ["mon"]}).base)
        assert strict[0].startswith("Du mardi au samedi : envoi des SMS marketing 08:00-20:00")
        assert "Jours sans SMS marketing : lundi et dimanche." in strict
