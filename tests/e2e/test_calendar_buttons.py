"""The campaign calendar's toolbar in a real browser: capitalised buttons in French and English."""

import pytest

from smsplatform.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-FR", ["Aujourd'hui", "Mois", "Semaine", "Jour", "Liste"]),
        ("en-GB", ["Today", "Month", "Week", "Day", "List"]),
    ],
)
def test_calendar_buttons_are_capitalised(
    e2e_requirements, live_server, page_factory, tenant_a, locale, expected
):
    client = tenant_a.client(Role.OWNER)
    page = page_factory(locale=locale)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/campaigns/calendar/")
    page.locator(".fc-today-button").wait_for()
    buttons = [
        page.locator(f".fc-{name}-button").inner_text().strip()
        for name in ("today", "dayGridMonth", "timeGridWeek", "timeGridDay", "listWeek")
    ]
    assert buttons == expected
