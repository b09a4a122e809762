"""A new user signs up in a real browser from the flyer's short address and lands on the dashboard with
100 credits at once; the verification email is on its way (tests/e2e/test_accounts_journey.py opens it)."""

import pytest

from tests.e2e.conftest import email_link, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_in_the_browser_shows_100_credits(e2e_requirements, live_server, page_factory):
    page = page_factory()
    page.goto(f"{live_server.url}/signup/")  # printed on flyers: now allauth's sign-up
    page.wait_for_url(f"{live_server.url}/accounts/signup/")
    page.locator("#id_org_name").fill("Fleuriste Les Lilas")
    page.locator("#id_email").fill("lilas@example.fr")
    page.locator("#id_password1").fill("Un-long-mot-de-passe-7")
    page.locator("#id_accept_terms").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("credit-balance").inner_text().strip().startswith("◉ 100")
    assert email_link("lilas@example.fr", r"/accounts/confirm-email/[^\s/]+/")
    screenshot(page, "dashboard-new-user")

    phone = page_factory(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/login/")  # the short address of earlier emails
    phone.wait_for_url(f"{live_server.url}/accounts/login/")
    screenshot(phone, "login-phone")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
