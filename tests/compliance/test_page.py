import pytest

from smsplatform.models import Role

pytestmark = pytest.mark.django_db

URL = "/compliance/"


def test_page_shows_pack_windows_and_holidays(tenant_a):
    response = tenant_a.client(Role.ANALYST).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "France — règles strictes des opérateurs" in html
    assert "FR_STRICT" not in html  # an analyst has no pack select: the code is never shown
    assert "08:00-20:00" in html
    assert 'data-testid="holidays-FR"' in html


def test_checker_form(tenant_a):
    response = tenant_a.client().get(
        URL, {"phone": "+262692601234", "date": "2026-06-15", "time": "20:30", "category": "marketing"}
    )
    html = response.content.decode()
    assert 'data-testid="checker-result"' in html
    assert "La Réunion (UTC+4)" in html  # 20:30 in Paris is 22:30 in Reunion
    # When it may leave, in the recipient's own time (08:00 in La Réunion), not in UTC.
    next_line = html.split('data-testid="checker-next">')[1].split("</p>")[0]
    assert "16 juin 2026" in next_line and "08:00" in next_line, next_line


def test_checker_bad_number(tenant_a):
    response = tenant_a.client().get(
        URL, {"phone": "nope", "date": "2026-06-15", "time": "10:00", "category": "marketing"}
    )
    assert response.status_code == 200
    assert 'data-testid="checker-result"' not in response.content.decode()


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302
