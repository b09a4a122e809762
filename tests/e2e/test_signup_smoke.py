"""A new user signs up in a real browser, opens the emailed link, lands on the dashboard with 100 credits."""

from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.test_journey import confirmation_link

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_in_the_browser_shows_100_credits(e2e_requirements, live_server, page_factory):
    page = page_factory()
    page.goto(f"{live_server.url}/signup/")
    page.get_by_label("Nom de la boutique ou de l'entreprise").fill("Fleuriste Les Lilas")
    page.get_by_label("Adresse e-mail").fill("lilas@example.fr")
    page.get_by_label("Mot de passe").fill("Un-long-mot-de-passe-7")
    page.get_by_label("J'accepte les conditions d'utilisation").check()
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{live_server.url}/signup/sent/")
    page.goto(live_server.url + urlparse(confirmation_link("lilas@example.fr")).path)
    page.get_by_test_id("signup-confirm").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("credit-balance").inner_text().strip().startswith("◉ 100")
    screenshot(page, "dashboard-new-user")

    phone = page_factory(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/login/")
    screenshot(phone, "login-phone")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
