"""The first campaign, in a real browser, as a new shop owner: in French and in English.

Sign up (100 credits), import a 2,000-row till export through the wizard (messy numbers, a landline, a
duplicate, first names such as Noël, Zoë, Loïc, Jérôme), write a message with the first name whose
emoji makes it Unicode and fix it in one click, see that the names with ë/ï/ô cost more and choose to
write them without those accents, send a free test rendered for one of them, save the draft and buy the
credits it lacks (the covering pack preselected, back on the campaign once paid), schedule it, see it on
the calendar, watch it send through the real worker and the loopback gateway, check that the credits
spent are exactly those the composer showed, see the SMS on the virtual phone, reply STOP, and read the
report. The clicks and page loads of the journey are counted and printed with its duration (goal: under
40 clicks).

Sending windows: the campaign is a marketing one under the French pack, and CI runs at any hour; the
stack evaluates windows at an instant where they are open (see ``tests/e2e/gate_clock.py``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Campaign, Message
from tests.e2e.conftest import ROOT, screenshot, wait_for

try:
    from playwright.sync_api import expect
except ImportError:  # the stack fixtures skip the browser tests without Playwright
    expect = None

pytestmark = pytest.mark.django_db(transaction=True)

AXE = ROOT / "static" / "vendor" / "axe.min.js"
PARIS = ZoneInfo("Europe/Paris")
SEND_TIMEOUT = 300  # seconds: beat launches due campaigns every 30 s; 2,000 SMS, receipts 1 s after sending

# A file straight out of a till: Windows-1252, semicolons, French headers, every way of writing a mobile.
HEADER = ("Civilité", "Prénom", "Nom", "Portable", "Code postal", "Ville")
MESSY_ROWS = [
    ("Mme", "Amélie", "Lefèvre", "06 12 34 56 78", "75011", "Paris"),
    ("M.", "François", "Dupré", "+33 6 23 45 67 89", "69003", "Lyon"),
    ("Mme", "Hélène", "Bœuf", "0033634567890", "13001", "Marseille"),
    ("M.", "Jérôme", "Noël", "645678901", "33000", "Bordeaux"),  # Excel dropped the leading zero
    ("Mme", "Cécile", "Lâm", "07.56.78.90.12", "44000", "Nantes"),
    ("M.", "Loïc", "Payet", "0692 12 34 56", "97400", "Saint-Denis"),  # La Réunion
    ("M.", "Gérard", "Fixe", "01 42 68 53 00", "75008", "Paris"),  # a landline: rejected
    ("Mme", "Amélie", "Lefèvre", "+33612345678", "75011", "Paris"),  # the first row again
]
# The rest of the till: one customer in eight has a first name that SMS cannot write in GSM-7.
NAMES = ["Marie", "Julien", "Noël", "Camille", "Zoë", "Nathalie", "Gaëlle", "Thomas", "Sophie", "Loïc",
         "Jérôme", "Isabelle", "Léa", "Hugo", "Chloé", "Raphaël"]  # fmt: skip
GENERATED = 1992
VALID = 6 + GENERATED
# The virtual phone lists the numbers texted last: the last row of the file is among them.
STOP_NUMBER = f"+3364{GENERATED - 1:07d}"
MESSAGE = (
    "Bonjour {prenom}, les Lilas : -20 % sur tous les bouquets ce samedi, et une rose offerte pour toute "
    "commande 🌷 A samedi !"
)

# Strings that are not reachable by role or test id, per language.
TEXT = {
    "fr": {"locale": "fr-FR", "lang": "fr", "org": "Fleuriste Les Lilas", "list": "Clients boutique"},
    "en": {"locale": "en-US", "lang": "en", "org": "Lilac Florist", "list": "Shop customers"},
}


def csv_rows() -> list[tuple[str, ...]]:
    rows = [HEADER, *MESSY_ROWS]
    for i in range(GENERATED):
        mobile = f"06 4{i:07d}"  # +3364..., apart from the messy rows' numbers
        rows.append(("", NAMES[i % len(NAMES)], f"Client{i}", mobile, "75011", "Paris"))
    return rows


def csv_bytes() -> bytes:
    return "\r\n".join(";".join(row) for row in csv_rows()).encode("cp1252") + b"\r\n"


@dataclass
class Journey:
    """The page, with the user's clicks and the page loads counted."""

    page: object
    base: str
    lang: str
    clicks: int = 0
    loads: int = 0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        self.page.on("load", self._loaded)
        self.page.on("dialog", lambda dialog: dialog.accept())  # "Schedule this campaign…?": yes

    def _loaded(self, _page):
        self.loads += 1

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def click(self, locator, **kwargs):
        self.clicks += 1
        locator.click(**kwargs)

    def check(self, locator):
        self.clicks += 1
        locator.check()

    def shot(self, name: str):
        screenshot(self.page, name if self.lang == "fr" else f"{name}-en")

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


def axe_violations(page, name: str) -> list[str]:
    """Serious and critical axe-core violations of the current page, one line each. axe-core (from npm,
    copied by ``npm run build``) is loaded from our static files: the CSP forbids inline scripts."""
    assert AXE.exists(), "static/vendor/axe.min.js is missing: run npm run build"
    page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => `${v.impact} ${v.id}: ${v.help} (`"
        " + v.nodes.slice(0, 3).map(n => n.html.slice(0, 160)).join(' | ') + ')')"
    )
    return [f"{name}: {line}" for line in result]


def number(locator) -> int:
    """A figure as the page prints it (1 998 in French, 1,998 in English)."""
    return int(re.sub(r"\D", "", locator.inner_text()))


def credits_shown(page) -> int:
    return number(page.get_by_test_id("counter-credits"))


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def buying_refused(page, refused, email: str) -> str:
    """Why the journey stops when the checkout does not open (the sign-up's address is not verified:
    this journey has none of the email steps, the sandbox being meant to work before them)."""
    from allauth.account.models import EmailAddress

    verified = EmailAddress.objects.filter(email=email, verified=True).exists()
    return (
        f"buying credits was refused at {page.url}: the page says {refused.all_inner_texts()}; "
        f"the owner's address is {'verified' if verified else 'not verified'} (this journey signs up "
        "and goes on without opening the verification email). See the server log for the reason."
    )


def run_journey(stack, page_factory, lang: str, pages: list) -> dict:
    text = TEXT[lang]
    page = page_factory(locale=text["locale"])
    pages.append(page)
    j = Journey(page, stack["url"], lang)

    # 1. Sign up: the shop and its 100 credits exist at once and the owner lands on the dashboard with
    # the checklist. The address is verified later: the sandbox (import, composer, virtual phone) works
    # before, so the five-minute journey has no email step (tests/e2e/test_accounts_journey.py has it).
    j.goto("/accounts/signup/")
    assert page.locator("html").get_attribute("lang") == text["lang"]
    page.locator("#id_org_name").fill(text["org"])
    page.locator("#id_email").fill(f"owner-{lang}@lilas.example")
    page.locator("#id_password1").fill("Un-long-mot-de-passe-7")
    j.check(page.locator("#id_accept_terms"))
    j.shot("signup")
    j.click(page.locator("main form button[type=submit]"))
    page.wait_for_url(stack["url"] + "/")
    assert page.get_by_test_id("credit-balance").inner_text().strip().startswith("◉ 100")
    expect(page.get_by_test_id("checklist-import")).to_have_attribute("data-done", "false")
    j.shot("dashboard")

    # 2. Import the file: upload, mapping, preview, consent, progress, report.
    j.click(page.get_by_test_id("checklist-import").get_by_role("link"))
    page.locator("#id_file").set_input_files(
        {"name": "clients-caisse.csv", "mimeType": "text/csv", "buffer": csv_bytes()}
    )
    j.clicks += 1  # choosing the file
    j.shot("import-1-upload")
    j.click(page.locator("main form button[type=submit]"))
    page.wait_for_url(re.compile(r"/mapping/$"))
    mapping = {
        page.locator(f"label[for={s.get_attribute('id')}]").inner_text().strip(): s.input_value()
        for s in page.locator("main select").all()
    }
    assert mapping["Portable"] == "phone", mapping
    assert mapping["Prénom"] == "first_name", mapping
    assert mapping["Code postal"] == "postal_code", mapping
    j.shot("import-2-mapping")
    j.click(page.locator("main form button[type=submit]"))
    page.wait_for_url(re.compile(r"/preview/$"))
    problems = page.locator("tr.row-problem")
    assert problems.count() == 2, page.locator("table").inner_text()  # the landline and the duplicate
    j.shot("import-3-preview")
    j.click(page.get_by_test_id("preview-continue"))
    page.wait_for_url(re.compile(r"/consent/$"))
    j.check(page.locator("input[name=consent_basis][value=opt_in]"))
    page.locator("#id_consent_source").fill("Fiche client en boutique, case cochée")
    page.locator("#id_list_name").fill(text["list"])
    j.check(page.locator("#id_attest"))
    j.shot("import-4-consent")
    j.click(page.locator("main form button[type=submit]"))
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_have_attribute("data-status", re.compile("^(done|failed)$"), timeout=60_000)
    assert progress.get_attribute("data-status") == "done", progress.inner_text()
    assert number(page.get_by_test_id("import-created")) == VALID
    assert page.get_by_test_id("import-invalid").inner_text() == "1"
    assert page.get_by_test_id("import-duplicates").inner_text() == "1"
    assert page.get_by_test_id("import-suppressed").inner_text() == "0"
    expect(page.get_by_test_id("rejected-download")).to_be_visible()
    j.shot("import-5-report")

    # 3. Write the message: the list of the import is already chosen. The emoji makes every message
    # Unicode; one click removes it. The names with ë, ï, ô still make their own messages Unicode: the
    # composer shows it and the owner chooses to write those names without the accents.
    j.click(page.get_by_test_id("import-next-campaign"))
    page.wait_for_url(re.compile(r"/campaigns/new/"))
    expect(page.get_by_label(text["list"])).to_be_checked()
    page.locator("#id_name").fill("Samedi des roses")
    page.locator("#id_body").fill(MESSAGE)
    counter = page.get_by_test_id("counter")
    expect(counter).to_have_attribute("data-encoding", "UCS-2")
    culprit = page.get_by_test_id("culprit")
    expect(culprit).to_have_count(1)
    assert culprit.get_attribute("data-char") == "🌷"
    expect(page.get_by_test_id("counter-credits")).not_to_have_text("–")
    expensive = credits_shown(page)
    j.shot("composer-emoji")
    j.click(culprit.get_by_role("button"))
    expect(counter).to_have_attribute("data-encoding", "GSM-7")
    expect(page.get_by_test_id("culprit")).to_have_count(0)
    expect(page.get_by_test_id("tier")).to_have_count(2)
    mixed = credits_shown(page)
    assert VALID < mixed < expensive, (VALID, mixed, expensive)
    j.shot("composer-names")
    j.click(page.get_by_test_id("transliterate-offer"))
    expect(page.get_by_test_id("transliterated")).to_be_visible()
    expect(page.get_by_test_id("tier")).to_have_count(0)
    shown = credits_shown(page)
    assert shown == VALID, shown  # one SMS each, at one credit in France and La Réunion
    assert "🌷" not in page.locator("#id_body").input_value()

    # 3b. A free test to my own mobile (verified once by a code sent by SMS; a wrong code says so in
    # place), rendered for a customer whose name has an accent, with the real short link.
    j.click(page.get_by_test_id("test-box-summary"))
    page.locator("#test-phone").fill("06 99 88 77 66")  # the shop owner's own, not a customer's
    j.click(page.get_by_test_id("own-number-send-code"))
    code_box = page.locator("#own-number-code")
    expect(code_box).to_be_visible()
    code_box.fill("000000")
    j.click(page.get_by_test_id("own-number-verify"))
    expect(page.locator("#own-number-code-error")).to_be_visible()
    sms = Message.objects.filter(reason="test_phone_code", to="+33699887766").latest("id")
    page.locator("#own-number-code").fill(re.search(r"\d{6}", sms.body).group(0))
    j.click(page.get_by_test_id("own-number-verify"))
    picker = page.get_by_test_id("test-contact")
    expect(picker.locator("option")).not_to_have_count(1)
    j.clicks += 1  # choosing the customer
    picker.select_option(index=1)
    chosen = picker.locator("option:checked").inner_text()
    j.click(page.get_by_test_id("test-send"))
    expect(page.locator("#test-send-result .message-success")).to_be_visible()
    test = Message.objects.filter(reason="test_send").latest("id")
    assert test.credits == 0 and test.body.startswith("Bonjour "), test.body
    assert chosen.split()[0] not in test.body  # its accent is gone: "François" went as "Francois"
    j.shot("composer-test-sent")

    # 4. Schedule it, then save the draft and buy the credits it lacks: the pack that covers them is
    # preselected, and the payment brings the owner back to the campaign.
    j.check(page.locator("input[name=when][value=later]"))
    at = datetime.now(PARIS) + timedelta(seconds=90)
    page.locator("#id_scheduled_date").fill(at.strftime("%Y-%m-%d"))
    page.locator("#id_scheduled_time").fill(at.strftime("%H:%M:%S"))
    j.shot("composer")
    j.click(page.get_by_test_id("save-and-buy"))
    page.wait_for_url(re.compile(r"/billing/\?need="))
    expect(page.get_by_test_id("billing-need")).to_be_visible()
    recommended = page.locator("tr.recommended")
    expect(recommended).to_have_attribute(
        "data-testid", "pack-5000"
    )  # 1,898 short: 500 and 1,000 are not enough
    j.shot("billing-need")
    j.click(recommended.get_by_role("button"))
    checkout = page.get_by_test_id("confirm-payment")
    refused = page.locator("main .message-error")
    expect(checkout.or_(refused).first).to_be_visible()
    if not checkout.count():
        raise AssertionError(buying_refused(page, refused, f"owner-{lang}@lilas.example"))
    j.click(checkout)
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    campaign_url = page.url
    estimate = page.get_by_test_id("estimate")
    expect(estimate).to_have_attribute("data-recipients", str(VALID))
    expect(estimate).to_have_attribute("data-credits", str(shown))
    expect(estimate).to_have_attribute("data-deferred", "0")
    j.click(page.get_by_test_id("launch"))
    page.wait_for_url(campaign_url)
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "scheduled")

    # 5. The calendar shows it.
    j.click(page.locator("header nav a[href='/campaigns/calendar/']"))
    event = page.locator(".fc-event", has_text="Samedi des roses")
    expect(event).to_be_visible()
    j.shot("calendar")

    # 6. Watch it send: the campaign page refreshes itself until the campaign is completed.
    j.click(event)
    page.wait_for_url(campaign_url)
    expect(page.get_by_test_id("campaign-status")).to_have_attribute(
        "data-status", "completed", timeout=SEND_TIMEOUT * 1000
    )
    j.shot("campaign-sent")
    # The credits spent are those the composer showed, once the campaign is settled.
    campaign = Campaign.objects.get(pk=int(campaign_url.rstrip("/").rsplit("/", 1)[1]))
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).settled_at, 120, what="the settlement")
    campaign.refresh_from_db()
    assert campaign.credits_spent == shown, (campaign.credits_spent, shown)

    # 7. The SMS arrives on the virtual phone; reply STOP; the confirmation and the opt-out show.
    nav_phone = page.get_by_test_id("nav-phone")
    if nav_phone.count():
        j.click(nav_phone)
    else:  # the navigation entry needs the gateway in the template context (see the report)
        j.click(page.locator("header nav a.brand"))
        j.click(page.locator("a[href='/campaigns/phone/']").first)
    page.wait_for_url(re.compile(r"/campaigns/phone/"))
    phone_row = page.get_by_test_id("phone-number").filter(has_text=STOP_NUMBER)
    if phone_row.get_attribute("aria-current") != "true":
        j.click(phone_row)
        page.wait_for_url(re.compile(r"to="))
    thread = page.get_by_test_id("phone-thread")
    sms = thread.locator("li.sms-out", has_text="rose offerte")
    expect(sms).to_have_attribute("data-status", "delivered", timeout=60_000)
    j.shot("virtual-phone")
    page.get_by_test_id("phone-reply-text").fill("STOP")
    j.click(page.get_by_test_id("phone-reply-send"))
    expect(thread.locator("li.sms-in", has_text="STOP")).to_be_visible(timeout=30_000)
    expect(thread.locator("li.sms-in").last).to_contain_text(re.compile("désinscription|opt-out", re.I))
    expect(thread.locator("li.sms-out")).to_have_count(2, timeout=60_000)  # the single confirmation
    j.shot("virtual-phone-stop")

    # 8. The report.
    j.click(page.locator("header nav a[href='/reports/']"))
    campaign_id = campaign_url.rstrip("/").rsplit("/", 1)[1]
    j.click(page.locator(f"main a[href$='/reports/campaigns/{campaign_id}/']").first)
    page.wait_for_url(re.compile(r"/reports/campaigns/\d+/$"))
    assert number(page.get_by_test_id("kpi-recipients")) == VALID
    assert number(page.get_by_test_id("kpi-delivered")) == VALID
    assert page.get_by_test_id("kpi-opt-outs").inner_text() == "1"
    j.shot("report")

    summary = (
        f"journey ({lang}): {j.clicks} clicks, {j.loads} page loads, {j.seconds:.1f} s; "
        f"{VALID} recipients, {shown} credits shown = {campaign.credits_spent} spent"
    )
    print("\n" + summary)
    return {"journey": j, "campaign_url": campaign_url, "summary": summary}


def audit_pages(page, base: str, lang: str, campaign_path: str) -> list[str]:
    """axe-core on the main pages, their screenshots, and no horizontal scroll at 390 px."""
    pages = {
        "dashboard": "/",
        "contacts": "/contacts/",
        "import-upload": "/contacts/import/",
        "campaigns": "/campaigns/",
        "composer-empty": "/campaigns/new/",
        "campaign": campaign_path,
        "calendar": "/campaigns/calendar/",
        "virtual-phone": "/campaigns/phone/",
        "reports": "/reports/",
        "report": "/reports" + campaign_path,
        "billing": "/billing/",
        "sending-rules": "/compliance/",
    }
    violations = []
    for name, path in pages.items():
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        violations += axe_violations(page, name)
        if name in ("billing", "reports", "contacts", "campaigns"):
            screenshot(page, name if lang == "fr" else f"{name}-en")
    return violations


@pytest.fixture
def packs_on_sale(transactional_db):
    """The credit packs and regional prices a data migration seeds: an earlier browser test emptied the
    tables (a transactional test flushes the database after it)."""
    from django.apps import apps

    import_module("billing.migrations.0003_seed_prices_and_packs").seed(apps, None)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_five_minute_campaign(stack, page_factory, lang, packs_on_sale):
    pages = []
    try:
        result = run_journey(stack, page_factory, lang, pages)
    except Exception:
        for page in pages:
            screenshot(page, f"failure-{lang}")
            print(f"failure at {page.url}:", page.locator("main").inner_text()[:3000])
        raise
    page = result["journey"].page
    base = stack["url"]
    campaign_path = result["campaign_url"][len(base) :]

    violations = audit_pages(page, base, lang, campaign_path)

    # Our own 404 for a bad id, not a stack trace.
    response = page.goto(base + "/campaigns/999999/")
    assert response.status == 404
    assert "Traceback" not in page.content()
    expect(page.locator("main a[href='/']")).to_be_visible()  # templates/404.html: back to the dashboard
    violations += axe_violations(page, "404")

    # The main pages on a phone: no horizontal scroll.
    phone = page.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    wide = []
    report_path = "/reports" + campaign_path
    paths = ["/", "/contacts/", "/contacts/import/", "/campaigns/new/", campaign_path]
    paths += ["/campaigns/calendar/", "/campaigns/phone/", "/reports/", report_path, "/billing/"]
    for path in paths:
        phone.goto(base + path)
        phone.wait_for_load_state("networkidle")
        if not no_horizontal_scroll(phone):
            wide.append(f"{path}: {phone.evaluate('document.documentElement.scrollWidth')} px")
        if path in ("/", "/campaigns/new/", "/campaigns/phone/"):
            screenshot(phone, f"phone-{path.strip('/').replace('/', '-') or 'dashboard'}-{lang}")
    phone.close()

    print(result["summary"])
    print(f"axe ({lang}): {len(violations)} serious or critical violations", *violations, sep="\n  ")
    print(f"wider than 390 px ({lang}): {wide or 'none'}")
    assert not violations, "\n".join(violations)
    assert not wide, wide


def test_our_own_500_page_needs_no_context():
    """Django renders templates/500.html without a context when a view crashes: it must stand alone,
    in both languages, with a way back and no technical detail."""
    from django.template.loader import get_template

    html = get_template("500.html").render()
    assert "Something went wrong" in html and "Une erreur est survenue" in html
    assert 'href="/"' in html and "Traceback" not in html
