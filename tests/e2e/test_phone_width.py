"""Every main page on a 390 px wide phone (Chromium), the account pages (allauth's) included: nothing
may scroll sideways, and the visitor's header holds on one line.

A logged-in shop with data (contacts, a list, an import, a draft campaign with its estimate, a sent
campaign with receipts, a deferral and a STOP reply) is written straight into the database: no worker
is needed to draw pages. Each page is photographed at the phone's viewport into
tests/e2e/screenshots/phone/ (copies kept in docs/screenshots/phone/).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.conftest import ROOT
from tests.e2e.test_journey import axe_violations

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
SHOTS = ROOT / "tests" / "e2e" / "screenshots" / "phone"  # a few are kept in docs/screenshots/phone/

# The element that sticks out furthest to the right, ignoring what a scrolling or clipping box holds
# (a wide table inside .table-wrap scrolls inside its box, not the page).
WIDEST = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === "auto" || x === "scroll" || x === "hidden" || x === "clip") return true;
    }
    return false;
  };
  let worst = null, right = width + 1;
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > right && !clipped(el)) { right = r.right; worst = el; }
  }
  if (!worst) return "none found";
  const cls = typeof worst.className === "string" && worst.className.trim()
    ? "." + worst.className.trim().split(/\\s+/).join(".") : "";
  const id = worst.id ? "#" + worst.id : "";
  return `${worst.tagName.toLowerCase()}${id}${cls} ends at ${Math.round(right)} px: `
    + worst.outerHTML.slice(0, 200);
}"""


def seed_shop():
    """A shop with a little of everything; returns the paths of its object pages."""
    from analytics.models import ClickCount
    from campaigns.models import CampaignStatus, InboundMessage, Message, MessageStatus
    from campaigns.services import campaign_create
    from contacts.services import contact_create, contact_list_create
    from tests.analytics.conftest import make_campaign
    from tests.conftest import make_tenant
    from tests.factories import make_import_job

    tenant = make_tenant("Fleuriste Les Lilas du Faubourg Saint-Antoine", "phone")
    org, owner = tenant.org, tenant.owner
    shop_list = contact_list_create(org=org, actor=owner, name="Clientes fidèles de la boutique")
    contact = None
    for i in range(3):
        contact = contact_create(
            org=org, actor=owner, phone=f"+3361234560{i}", first_name="Amélie-Françoise",
            last_name="Lefèvre-Dupont", consent_basis="opt_in", consent_source="manual",
            list_ids=[shop_list.pk],
        )  # fmt: skip
    make_import_job(tenant)
    draft = campaign_create(
        org=org, actor=owner, name="Samedi des roses et des pivoines", list_ids=[shop_list.pk],
        body="Les Lilas : -20 % sur tous les bouquets ce samedi https://lilas.example/samedi STOP au 36111",
    )  # fmt: skip

    launched = timezone.now() - timedelta(hours=2)
    sent, messages = make_campaign(
        org, 6, name="Fête des mères", status=CampaignStatus.COMPLETED, launched_at=launched
    )
    for i, message in enumerate(messages[:5]):
        at = launched + timedelta(minutes=5 * i)
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.DELIVERED, sent_at=at, delivered_at=at + timedelta(seconds=20)
        )
    Message.objects.filter(pk=messages[5].pk).update(
        status=MessageStatus.DEFERRED,
        deferred_until=launched + timedelta(hours=14),
        reasons=[{"code": "outside_window", "fr": "Heures calmes", "en": "Quiet hours"}],
    )
    ClickCount.objects.create(
        org=org, campaign=sent, bucket=launched.replace(minute=0, second=0, microsecond=0), clicks=2,
        unique_clicks=2,
    )  # fmt: skip
    InboundMessage.objects.create(
        org=org, gateway="console", provider_id="in-1", from_number=messages[0].to, text="STOP",
        kind="opt_out", received_at=launched + timedelta(minutes=30),
    )  # fmt: skip
    return tenant, {
        "contact": f"/contacts/{contact.pk}/",
        "campaign": f"/campaigns/{draft.pk}/",
        "report": f"/reports/campaigns/{sent.pk}/",
        "sent": f"/campaigns/{sent.pk}/",
    }


def log_in(page, base: str, email: str) -> None:
    from tests.conftest import PASSWORD

    page.goto(base + "/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/")


def header_height(page) -> float:
    return page.locator("header.app-header").bounding_box()["height"]


def check_page(page, base: str, name: str, path: str) -> str | None:
    response = page.goto(base + path)
    assert response.status == 200, f"{name} ({path}) answered {response.status}"
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= PHONE["width"]:
        return None
    return f"{name} ({path}) is {scroll_width} px wide; widest: {page.evaluate(WIDEST)}"


def test_every_main_page_fits_a_390_px_phone(e2e_requirements, live_server, page_factory, settings):
    settings.SMS_GATEWAY = "console"
    tenant, paths = seed_shop()
    base = live_server.url
    pages = {
        "dashboard": "/",
        "contacts": "/contacts/",
        "contact": paths["contact"],
        "lists": "/contacts/lists/",
        "imports": "/contacts/imports/",
        "import-upload": "/contacts/import/",
        "campaigns": "/campaigns/",
        "composer": "/campaigns/new/",
        "campaign-estimate": paths["campaign"],
        "campaign-sent": paths["sent"],
        "calendar": "/campaigns/calendar/",
        "report": paths["report"],
        "reports": "/reports/",
        "billing": "/billing/",
        "settings": "/settings/",
        "sending-rules": "/compliance/",
        "senders": "/compliance/senders/",
        "inbox": "/campaigns/inbox/",
        "account": "/accounts/email/",
        "password": "/accounts/password/change/",
        "two-factor": "/accounts/2fa/",
        "sessions": "/accounts/sessions/",
    }
    wide = []
    visitor = page_factory(viewport=PHONE)
    visitor_pages = {
        "signup": "/accounts/signup/",
        "login": "/accounts/login/",
        "password-reset": "/accounts/password/reset/",
    }
    for name, path in visitor_pages.items():
        wide.append(check_page(visitor, base, name, path))
        if header_height(visitor) > 80:  # one line; every problem is listed at the end
            wide.append(f"{name} ({path}): the header is {header_height(visitor):.0f} px tall")

    page = page_factory(viewport=PHONE)
    log_in(page, base, tenant.owner.email)
    for name, path in pages.items():
        wide.append(check_page(page, base, name, path))
    # The report's filter bar: ordinary rows (it drew 120 px tall selects and a button on four lines).
    page.goto(base + paths["report"])
    heights = page.eval_on_selector_all(
        "#recipients form.filters select, #recipients form.filters [role=button]",
        "els => els.map(e => Math.round(e.getBoundingClientRect().height))",
    )
    assert heights and max(heights) <= 80, f"report filters at 390 px: heights {heights}"
    # The folded header: one line on a phone (it took 175 px before the menu folded).
    page.goto(base + "/")
    assert header_height(page) <= 80, f"the header is {header_height(page):.0f} px tall at 390 px"
    assert not axe_violations(page, "dashboard at 390 px"), axe_violations(page, "dashboard at 390 px")
    page.locator(".nav-toggle-label").click()  # the folded menu opens and shows the steps
    assert page.locator("#nav-steps a[href='/reports/']").is_visible()

    wide = [line for line in wide if line]
    assert not wide, "\n".join(wide)
