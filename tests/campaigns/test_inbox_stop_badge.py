"""The inbox flags the number whose last reply was a STOP: it receives no more marketing SMS."""

from __future__ import annotations

import pytest

from campaigns.models import InboundMessage

pytestmark = pytest.mark.django_db


def test_the_number_that_answered_stop_carries_a_stop_badge(tenant_a):
    org = tenant_a.org
    for n, (number, text, kind) in enumerate(
        [("+33612345678", "STOP", "opt_out"), ("+33612345679", "Merci !", "none")]
    ):
        InboundMessage.objects.create(
            org=org, gateway="loopback", provider_id=f"in-{n}", from_number=number, text=text, kind=kind
        )
    html = tenant_a.client().get("/campaigns/inbox/?all=1").content.decode()
    rows = html.split('data-testid="conversation-row"')[1:]
    assert len(rows) == 2
    stop_row = next(r for r in rows if "+33612345678" in r)
    other_row = next(r for r in rows if "+33612345679" in r)
    assert 'data-testid="stop-badge"' in stop_row and 'data-testid="stop-badge"' not in other_row
