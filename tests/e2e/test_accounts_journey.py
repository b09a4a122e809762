"""A shop owner's account, in a real browser, in French and in English: everything allauth does for us,
as the user sees it.

Sign up (the shop, its 100 credits, logged in at once: the sandbox works before the address is
verified), confirm the address from the emailed link, log out, forget the password and set a new one
from the emailed link, log in with it, turn on two-factor with an authenticator app (the code is
computed here, RFC 6238), read the recovery codes, then log in with a fresh authenticator code, with a
recovery code, with the same recovery code again (refused) and with another one.

Pages are found by what the restyled allauth templates keep stable: the form fields' ids, the URL, and
the test ids ``email-confirm``, ``totp-secret``, ``recovery-code``, ``signup-errors``, with allauth's
default markup as the fallback while those are not there yet. One screenshot per step goes to
tests/e2e/screenshots/accounts/<lang>/ (copies kept in docs/screenshots/accounts/<lang>/).
"""

from __future__ import annotations

import time

import pytest

from tests.accounts.totp import totp
from tests.e2e.conftest import SCREENSHOTS, clear_tree, email_link, screenshot

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect
except ImportError:  # the browser fixtures skip these tests without Playwright
    PlaywrightTimeout = expect = None

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = {
    "fr": {"locale": "fr-FR", "org": "Salon Élodie", "country": "FR"},
    "en": {"locale": "en-GB", "org": "Elodie's Hair Salon", "country": "GB"},
}
PASSWORD = "Un-long-mot-de-passe-7"
NEW_PASSWORD = "Encore-plus-long-mot-2-passe"
TOTP_PERIOD = 30
# What a form shows when it refuses an input: our field and non-field errors, allauth's default markup,
# and the sign-up's own test id.
ERRORS = "[data-testid=signup-errors], main [role=alert], main .errorlist, main [aria-invalid=true]"


class Authenticator:
    """The phone's authenticator app. allauth refuses a code already used in its 30 s step, and the
    code must still be valid when the server checks it: a code is read from a step used by no earlier
    code, with at least 5 s of it left (waiting for the next step otherwise)."""

    def __init__(self, secret: str):
        self.secret = secret
        self.used_steps: set[int] = set()
        self.waited = 0.0

    def code(self) -> str:
        while True:
            now = time.time()
            step, left = int(now // TOTP_PERIOD), TOTP_PERIOD - now % TOTP_PERIOD
            if step not in self.used_steps and left >= 5:
                self.used_steps.add(step)
                return totp(self.secret, now)
            time.sleep(left + 0.1)  # the next time step
            self.waited += left + 0.1


class Visit:
    """The page, its base URL, the language, the screenshots of the journey and the server errors."""

    def __init__(self, page, base: str, lang: str):
        self.page, self.base, self.lang = page, base, lang
        self.server_errors: list[str] = []
        self.shots = 0
        page.on("response", self._response)

    def _response(self, response):
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def goto(self, path: str):
        response = self.page.goto(self.base + path)
        assert response.ok, f"{path} answered {response.status}: {self.main_text()}"
        self.check_lang()
        return response

    def check_lang(self):
        lang = self.page.locator("html").get_attribute("lang")
        assert lang == self.lang, f"{self.page.url} is in {lang!r}, the browser asks for {self.lang!r}"

    def main_text(self) -> str:
        main = self.page.locator("main")
        return main.inner_text()[:2000] if main.count() else self.page.content()[:2000]

    def arrive(self, path: str, step: str):
        """Waits for the page at ``path``; if it does not come, fails saying where the user is instead,
        with the errors the page shows and any server error."""
        try:
            self.page.wait_for_url(self.base + path)
        except PlaywrightTimeout:
            errors = self.page.locator(ERRORS).all_inner_texts()
            raise AssertionError(
                f"{step}: expected {path}, the browser is on {self.page.url}; errors shown: {errors}; "
                f"server errors: {self.server_errors}; page: {self.main_text()}"
            ) from None
        assert not self.server_errors, f"{step}: server errors {self.server_errors}"
        self.check_lang()

    def submit(self, field):
        """Clicks the submit button of the form that holds ``field`` (not a button of another form,
        such as the "cancel" of the two-factor page, which belongs to the log-out form)."""
        form = self.page.locator("main form", has=field)
        form.locator("button[type=submit]:not([form])").first.click()

    def shot(self, name: str):
        self.shots += 1
        screenshot(self.page, f"accounts/{self.lang}/{self.shots:02d}-{name}")

    def log_out(self):
        """The header's log-out button (in the account menu when the shop's header is shown)."""
        form = self.page.locator("header form[action='/accounts/logout/']")
        expect(form).to_have_count(1)
        menu = self.page.locator("header details", has=self.page.locator("form[action='/accounts/logout/']"))
        if menu.count() and menu.get_attribute("open") is None:
            menu.locator("summary").click()
        form.locator("button[type=submit]").click()
        self.arrive("/accounts/login/", "log-out")

    def log_in(self, email: str, password: str, then: str = "/"):
        self.goto("/accounts/login/")
        self.page.locator("#id_login").fill(email)
        self.page.locator("#id_password").fill(password)
        self.submit(self.page.locator("#id_password"))
        self.arrive(then, f"log-in of {email}")

    def two_factor(self, code: str, then: str | None = "/", shot: str | None = None):
        """The second step of the log-in: the authenticator or recovery code."""
        field = self.page.locator("#id_code")
        field.fill(code)
        if shot:
            self.shot(shot)
        self.submit(field)
        if then is not None:
            self.arrive(then, f"two-factor code {code}")


def totp_secret(page) -> str:
    """The secret the TOTP activation page shows to type into an app (the restyled template's test id,
    else allauth's read-only field), without the spaces a page may group it with."""
    shown = page.locator("[data-testid=totp-secret], #authenticator_secret").first
    tag = shown.evaluate("el => el.tagName")
    text = shown.input_value() if tag in ("INPUT", "TEXTAREA") else shown.inner_text()
    secret = "".join(text.split()).upper()
    assert len(secret) >= 16 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567="), text
    return secret


def recovery_codes(page) -> list[str]:
    """The unused recovery codes the page shows: one element per code (the restyled template), else
    allauth's read-only text area with a code per line."""
    each = page.get_by_test_id("recovery-code")
    if each.count():
        codes = [text.strip() for text in each.all_inner_texts()]
    else:
        codes = page.locator("#recovery_codes").input_value().split()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    return codes


def run_accounts_journey(v: Visit, lang: str):
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator as MfaAuthenticator

    from billing.selectors import credits_balance
    from smsplatform.models import Membership

    page, text = v.page, TEXT[lang]
    email = f"elodie-{lang}@salon.example"

    # 1. Sign up: the shop, its credits, and the owner is logged in.
    v.goto("/accounts/signup/")
    page.locator("#id_org_name").fill(text["org"])
    page.locator("#id_email").fill(email)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_country").select_option(text["country"])
    page.locator("#id_accept_terms").check()
    v.shot("signup")
    v.submit(page.locator("#id_email"))
    v.arrive("/", "sign-up")
    assert page.get_by_test_id("credit-balance").inner_text().strip().startswith("◉ 100")
    membership = Membership.objects.select_related("org", "user").get(user__email=email)
    assert (membership.org.name, membership.org.country) == (text["org"], text["country"])
    assert credits_balance(membership.org) == 100
    assert EmailAddress.objects.get(email=email).verified is False
    v.shot("dashboard")

    # 2. The sandbox works before the address is verified: the import wizard opens.
    page.get_by_test_id("checklist-import").get_by_role("link").click()
    v.arrive("/contacts/import/", "the import page before verification")
    expect(page.locator("#id_file")).to_be_attached()
    v.shot("sandbox-import")

    # 3. The verification email: its link shows one button (opening it verifies nothing), the button does.
    v.goto(email_link(email, r"/accounts/confirm-email/[^\s/]+/"))
    assert EmailAddress.objects.get(email=email).verified is False, "opening the link verified the address"
    v.shot("email-confirm")
    page.locator("[data-testid=email-confirm], main form button[type=submit]").first.click()
    v.arrive("/", "the confirmation button")
    assert EmailAddress.objects.get(email=email).verified is True

    # 4. Log out, and forget the password: the emailed link leads to a new password.
    v.log_out()
    v.goto("/accounts/password/reset/")
    page.locator("#id_email").fill(email)
    v.shot("password-reset")
    v.submit(page.locator("#id_email"))
    v.arrive("/accounts/password/reset/done/", "the password-reset request")
    v.goto(email_link(email, r"/accounts/password/reset/key/[0-9a-z]+-[^\s/]+/"))
    assert page.url.endswith("-set-password/"), page.url  # allauth takes the key out of the address
    page.locator("#id_password1").fill(NEW_PASSWORD)
    page.locator("#id_password2").fill(NEW_PASSWORD)
    v.shot("new-password")
    v.submit(page.locator("#id_password1"))
    v.arrive("/accounts/password/reset/key/done/", "the new password")

    # 5. The new password logs in; the old one no longer does.
    v.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    v.submit(page.locator("#id_password"))
    expect(page.locator(ERRORS).first).to_be_visible()
    assert page.url.startswith(v.base + "/accounts/login/"), page.url
    v.log_in(email, NEW_PASSWORD)

    # 6. Two-factor: the authenticator app reads the secret, its code activates it, and the recovery
    # codes are shown (allauth goes there after the activation).
    v.goto("/accounts/2fa/totp/activate/")
    if page.url.startswith(v.base + "/accounts/reauthenticate/"):
        # allauth asks for the password again before a change of two-factor (a log-in is not enough).
        page.locator("#id_password").fill(NEW_PASSWORD)
        v.shot("reauthenticate")
        v.submit(page.locator("#id_password"))
        v.arrive("/accounts/2fa/totp/activate/", "the password asked again before two-factor")
    app = Authenticator(totp_secret(page))
    page.locator("#id_code").fill(app.code())
    v.shot("totp-activate")
    v.submit(page.locator("#id_code"))
    try:
        page.wait_for_url(lambda url: "/2fa/totp/activate/" not in url)
    except PlaywrightTimeout:
        raise AssertionError(f"the TOTP code was refused: {page.locator(ERRORS).all_inner_texts()}") from None
    assert MfaAuthenticator.objects.filter(user=membership.user, type="totp").exists()
    if not page.url.startswith(v.base + "/accounts/2fa/recovery-codes/"):
        v.goto("/accounts/2fa/recovery-codes/")
    v.check_lang()
    codes = recovery_codes(page)
    v.shot("recovery-codes")

    # 7. Logging in now asks for a code after the password: a fresh one from the app.
    v.log_out()
    v.log_in(email, NEW_PASSWORD, then="/accounts/2fa/authenticate/")
    v.two_factor(app.code(), shot="two-factor")
    assert page.get_by_test_id("credit-balance").inner_text().strip().startswith("◉ 100")

    # 8. A recovery code works once.
    v.log_out()
    v.log_in(email, NEW_PASSWORD, then="/accounts/2fa/authenticate/")
    v.two_factor(codes[0])
    v.log_out()
    v.log_in(email, NEW_PASSWORD, then="/accounts/2fa/authenticate/")
    v.two_factor(codes[0], then=None)
    expect(page.locator(ERRORS).first).to_be_visible()
    assert page.url == v.base + "/accounts/2fa/authenticate/", page.url
    v.check_lang()
    v.shot("recovery-code-used")
    v.two_factor(codes[1])
    assert page.get_by_test_id("credit-balance").inner_text().strip().startswith("◉ 100")
    v.shot("dashboard-two-factor")
    assert not v.server_errors, v.server_errors
    return app.waited


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_account_journey(e2e_requirements, live_server, page_factory, lang):
    clear_tree(SCREENSHOTS / "accounts" / lang)
    (SCREENSHOTS / "accounts" / lang).mkdir(parents=True)
    page = page_factory(locale=TEXT[lang]["locale"])
    visit = Visit(page, live_server.url, lang)
    started = time.monotonic()
    try:
        waited = run_accounts_journey(visit, lang)
    except Exception:
        screenshot(page, f"accounts/{lang}/failure")
        print(f"failure at {page.url}:", visit.main_text())
        raise
    seconds = time.monotonic() - started
    print(f"\naccounts journey ({lang}): {visit.shots} screenshots, {seconds:.1f} s ({waited:.0f} s waiting)")
