"""The report API and pages: exact fields, any member reads, another organisation's campaign is a 404,
queries pinned, CSV formula-safe, the dashboard section renders on its own."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone

from analytics.api.views import CampaignReportView
from analytics.links import links_for_messages, shorten_body
from analytics.models import Click, LinkCode
from campaigns.models import Campaign, Message, MessageStatus
from smsplatform.models import Role

from .conftest import NOW, make_campaign

pytestmark = pytest.mark.django_db

ROLES = [Role.OWNER, Role.ADMIN, Role.MARKETER, Role.ANALYST]


def _sample(tenant, n=6):
    campaign, msgs = make_campaign(tenant.org, n)
    ids = [m.pk for m in msgs]
    Message.objects.filter(pk__in=ids[:4]).update(status=MessageStatus.SENT, sent_at=NOW)
    Message.objects.filter(pk__in=ids[:3]).update(status=MessageStatus.DELIVERED, delivered_at=NOW)
    Message.objects.filter(pk=ids[4]).update(status=MessageStatus.BLOCKED, block_reason="suppressed")
    template, _ = shorten_body(org=tenant.org, campaign_id=campaign.pk, body="https://shop.example/x")
    links_for_messages(org=tenant.org, campaign_id=campaign.pk, items=[(m, template) for m in ids])
    code = LinkCode.objects.filter(message_id=ids[0]).values_list("code", flat=True).get()
    from analytics.services import click_record

    click_record(code=code, user_agent="Mozilla/5.0 (Linux; Android 14) Mobile")
    click_record(code=code, user_agent="Mozilla/5.0 (Linux; Android 14) Mobile")
    return campaign, msgs


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETER, Role.ANALYST])
def test_api_report_fields(tenant_a, role):
    campaign, _ = _sample(tenant_a)
    response = tenant_a.api(role).get(f"/api/v1/campaigns/{campaign.pk}/report")
    assert response.status_code == 200
    assert response.json() == {
        "recipients": 6,
        "status_counts": {"queued": 1, "deferred": 0, "sent": 4, "delivered": 3, "failed": 0, "blocked": 1,
                          "cancelled": 0},
        "blocked_reasons": {"suppressed": 1},
        "deferred_reasons": {},
        "delivery_rate": 0.75,
        "clicks": 2,
        "unique_clicks": 1,
        "click_rate": round(1 / 3, 4),
        "opt_outs": 0,
        "opt_out_rate": 0.0,
        "credits_spent": 4,
    }  # fmt: skip


def test_api_report_of_another_organisation_is_404(tenant_a, tenant_b):
    theirs, _ = _sample(tenant_b)
    api = tenant_a.api(Role.ANALYST)
    assert api.get(f"/api/v1/campaigns/{theirs.pk}/report").status_code == 404
    assert api.get("/api/v1/campaigns/999999/report").status_code == 404
    assert api.get("/api/v1/campaigns/abc/report").status_code == 404


def test_api_report_needs_a_key(tenant_a):
    from rest_framework.test import APIClient

    campaign, _ = _sample(tenant_a)
    assert APIClient().get(f"/api/v1/campaigns/{campaign.pk}/report").status_code == 401


def test_api_report_queries_are_pinned_whatever_the_size(tenant_a, django_assert_num_queries):
    small, _ = _sample(tenant_a, n=6)
    big, _ = _sample(tenant_a, n=60)
    api = tenant_a.api(Role.ANALYST)
    api.get(f"/api/v1/campaigns/{small.pk}/report")  # the key's last_used_at is written once a minute
    # key, campaign, counters, clicks, opt-outs
    for campaign in (small, big):
        with django_assert_num_queries(5):
            assert api.get(f"/api/v1/campaigns/{campaign.pk}/report").status_code == 200


def test_the_project_urlconf_routes_the_report_to_analytics(settings):
    assert settings.ROOT_URLCONF == "smsplatform.urls"
    match = resolve("/api/v1/campaigns/1/report")
    assert match.func.view_class is CampaignReportView
    assert match.url_name == "api-campaign-report"
    assert reverse("api-campaign-report", kwargs={"pk": 7}) == "/api/v1/campaigns/7/report"


@pytest.mark.parametrize("role", ROLES)
def test_report_page_for_every_role(tenant_a, tenant_b, role):
    campaign, _ = _sample(tenant_a)
    _sample(tenant_b)
    response = tenant_a.client(role).get(f"/reports/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="kpi-recipients">6<' in html
    assert 'id="report-timeline"' in html
    assert "<script>" not in html.replace('<script src="', "")  # no inline script (CSP)
    assert 'data-testid="blocked-reasons"' in html


def test_report_pages_of_another_organisation_are_404(tenant_a, tenant_b):
    theirs, _ = _sample(tenant_b)
    client = tenant_a.client(Role.ANALYST)
    assert client.get(f"/reports/campaigns/{theirs.pk}/").status_code == 404
    assert client.get(f"/reports/campaigns/{theirs.pk}/export.csv").status_code == 404
    assert (
        tenant_a.client(Role.OWNER)
        .post(f"/reports/campaigns/{theirs.pk}/utm/", {"utm_source": "x"})
        .status_code
        == 404
    )


def test_report_page_filters(tenant_a):
    campaign, msgs = _sample(tenant_a)
    client = tenant_a.client(Role.ANALYST)
    html = client.get(f"/reports/campaigns/{campaign.pk}/?status=blocked").content.decode()
    assert html.count("<tr><td>+33") == 1
    html = client.get(f"/reports/campaigns/{campaign.pk}/?clicked=yes").content.decode()
    assert html.count("<tr><td>+33") == 1 and msgs[0].to in html
    html = client.get(f"/reports/campaigns/{campaign.pk}/?clicked=no&status=delivered").content.decode()
    assert html.count("<tr><td>+33") == 2


def test_report_page_queries_do_not_grow_with_recipients(tenant_a, django_assert_max_num_queries):
    campaign, _ = _sample(tenant_a, n=60)
    client = tenant_a.client(Role.ANALYST)
    client.get(f"/reports/campaigns/{campaign.pk}/")
    with django_assert_max_num_queries(20):
        client.get(f"/reports/campaigns/{campaign.pk}/")


def test_csv_export_is_formula_safe(tenant_a):
    campaign, msgs = _sample(tenant_a)
    contact = msgs[0].contact
    contact.first_name = '=HYPERLINK("http://evil.example","x")'
    contact.last_name = "@SUM(A1)"
    contact.save(update_fields=["first_name", "last_name"])
    response = tenant_a.client(Role.ANALYST).get(f"/reports/campaigns/{campaign.pk}/export.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffphone;first_name;last_name;status;reason")
    lines = body.strip().split("\r\n")
    assert len(lines) == 1 + 6
    first = next(line for line in lines if "HYPERLINK" in line)
    assert first.startswith('"=""+33')  # the phone as Excel shows it: as typed, no apostrophe
    assert ";\"'=HYPERLINK(" in first and ";'@SUM(A1);" in first
    assert first.endswith(";2;" + first.split(";")[-1]) or ";2;" in first  # two clicks
    blocked = next(line for line in lines if "STOP" in line)
    assert "opted out" in blocked or "désinscrit" in blocked or "STOP" in blocked


def test_utm_form_needs_write_role(tenant_a):
    campaign, _ = _sample(tenant_a)
    url = f"/reports/campaigns/{campaign.pk}/utm/"
    assert tenant_a.client(Role.ANALYST).post(url, {"utm_source": "sms"}).status_code == 403
    assert tenant_a.client(Role.MARKETER).post(url, {"utm_source": "sms"}).status_code == 302
    from analytics.models import CampaignLinkOptions, TrackedLink

    assert CampaignLinkOptions.objects.get(campaign=campaign).utm == {"utm_source": "sms"}
    assert TrackedLink.objects.get(campaign=campaign).utm == {"utm_source": "sms"}


def test_reports_index_compares_campaigns(tenant_a, tenant_b):
    mine, _ = _sample(tenant_a)
    other, _ = make_campaign(tenant_a.org, 2, name="Autre")
    theirs, _ = _sample(tenant_b)
    Campaign.objects.filter(pk=theirs.pk).update(name="Decoy of B")
    response = tenant_a.client(Role.ANALYST).get("/reports/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Soldes" in html and "Autre" in html and "Decoy of B" not in html
    assert 'data-value="0.75"' in html  # delivery rate, unlocalised for sorting


def test_reports_index_queries_are_pinned(tenant_a, django_assert_num_queries):
    for i in range(3):
        make_campaign(tenant_a.org, 3, name=f"C{i}")
    client = tenant_a.client(Role.ANALYST)
    client.get("/reports/")
    for i in range(3, 6):
        make_campaign(tenant_a.org, 3, name=f"C{i}")
    with django_assert_num_queries(_count_index_queries(client)):
        client.get("/reports/")


def _count_index_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get("/reports/")
    return len(ctx.captured_queries)


def test_dashboard_section_renders_by_itself(tenant_a, tenant_b):
    _sample(tenant_a)
    _sample(tenant_b)
    Message.objects.filter(sent_at__isnull=False).update(sent_at=timezone.now())
    Message.objects.filter(delivered_at__isnull=False).update(delivered_at=timezone.now())
    request = RequestFactory().get("/")
    request.user = tenant_a.owner
    template = engines["django"].get_template("analytics/_dashboard.html")
    html = template.render({"request": request, "current_org": tenant_a.org})
    assert 'data-testid="dash-sent">4<' in html
    assert 'data-testid="dash-clicks">2<' in html
    assert "Soldes" in html
    assert template.render({"request": request, "current_org": None}).strip() == ""


def test_dashboard_section_queries_are_bounded(tenant_a, django_assert_max_num_queries):
    from analytics.selectors import dashboard_summary

    for _ in range(4):
        _sample(tenant_a, n=10)
    with django_assert_max_num_queries(10):
        dashboard_summary(tenant_a.org)


def test_click_rows_belong_to_the_link_owner(tenant_a, tenant_b):
    _sample(tenant_a)
    _sample(tenant_b)
    assert set(Click.objects.values_list("org_id", flat=True)) == {tenant_a.org.pk, tenant_b.org.pk}


def test_the_dashboard_page_shows_the_results_section(tenant_a, tenant_b):
    _sample(tenant_a)
    _sample(tenant_b)
    Message.objects.filter(sent_at__isnull=False).update(sent_at=timezone.now())
    Message.objects.filter(delivered_at__isnull=False).update(delivered_at=timezone.now())
    response = tenant_a.client(Role.ANALYST).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="dashboard-results"' in html and 'data-testid="dash-sent">4<' in html
