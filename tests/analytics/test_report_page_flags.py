"""The report's recipients table: the number that answered STOP carries a STOP badge, and a deferred
message says why and until when, in the shop's time zone and language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import CampaignStatus, InboundMessage, Message, MessageStatus

from .conftest import make_campaign

pytestmark = pytest.mark.django_db

LAUNCH = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
QUIET = [{"code": "outside_window", "fr": "Heures calmes", "en": "Quiet hours"}]


def sent_campaign(tenant):
    campaign, messages = make_campaign(tenant.org, 3, status=CampaignStatus.SENDING, launched_at=LAUNCH)
    first, second, deferred = messages
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=MessageStatus.DELIVERED, sent_at=LAUNCH, delivered_at=LAUNCH
    )
    Message.objects.filter(pk=deferred.pk).update(
        status=MessageStatus.DEFERRED, reasons=QUIET, deferred_until=datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    )
    InboundMessage.objects.create(
        org=tenant.org, gateway="console", provider_id="in-1", from_number=first.to, text="STOP",
        kind="opt_out", received_at=LAUNCH + timedelta(minutes=5),
    )  # fmt: skip
    return campaign, first, second


@pytest.mark.parametrize(
    ("language", "until"),
    [
        ("fr", "Reporté : heures calmes, jusqu'au 4 décembre 8:00"),
        ("en", "Deferred: quiet hours, until 4 December 8:00"),
    ],
)
def test_the_recipients_table_flags_stop_and_says_until_when(tenant_a, tenant_b, language, until):
    campaign, stopped, other = sent_campaign(tenant_a)
    response = tenant_a.client().get(f"/reports/campaigns/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    assert until in html.replace("&#x27;", "'")
    rows = {row["to"]: row for row in response.context["recipients"]["rows"]}
    assert rows[stopped.to]["opted_out"] and not rows[other.to]["opted_out"]
    assert html.count('data-testid="stop-badge"') == 1
    cell = html.split(stopped.to, 1)[1].split("</td>", 1)[0]
    assert 'data-testid="stop-badge"' in cell


def test_a_stop_to_another_campaign_does_not_flag_this_one(tenant_a):
    campaign, stopped, _other = sent_campaign(tenant_a)
    later, later_messages = make_campaign(
        tenant_a.org, 1, name="Plus tard", status=CampaignStatus.COMPLETED, launched_at=LAUNCH
    )
    html = tenant_a.client().get(f"/reports/campaigns/{later.pk}/").content.decode()
    assert 'data-testid="stop-badge"' not in html


def test_the_key_figures_fill_their_rows(tenant_a):
    campaign, _stopped, _other = sent_campaign(tenant_a)
    html = tenant_a.client().get(f"/reports/campaigns/{campaign.pk}/").content.decode()
    kpis = html.split('data-testid="report-kpis"', 1)[1].split("</section>", 1)[0]
    assert kpis.count('class="kpi"') % 4 == 0  # four per row (two on a phone): none alone on a row
    assert 'data-cumulative="1"' in html


@pytest.mark.parametrize(
    ("language", "until"),
    [("fr", "jusqu'au 4 décembre 2026 08:00 au plus tard"), ("en", "until 4 December 2026")],
)
def test_the_summary_of_deferrals_says_until_when(tenant_a, language, until):
    campaign, _stopped, _other = sent_campaign(tenant_a)
    html = tenant_a.client().get(f"/reports/campaigns/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    summary = html.content.decode().replace("&#x27;", "'").split('data-testid="deferred-reasons">')[1]
    assert until in summary.split("</ul>")[0], summary[:300]
