import pytest

from compliance.senders import (
    SENDER_ALL_DIGITS,
    SENDER_EMPTY,
    SENDER_FORMAT,
    SENDER_GENERIC,
    SENDER_MOBILE_NUMBER,
    SENDER_OPERATOR,
    SENDER_SHORT_CODE_RANGE,
    brand_identifiable,
    check_sender,
    ensure_stop_mention,
    has_stop_mention,
)


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        ("36111", "short_code"),
        ("38999", "short_code"),
        ("LILA", "alphanumeric"),
        ("Boutique2", "alphanumeric"),
        ("ABC", "alphanumeric"),
        ("ABCDEFGHIJK", "alphanumeric"),
        ("2B", "invalid"),
        ("1LILA", "alphanumeric"),
    ],
)
def test_valid_senders(sender, kind):
    result = check_sender(sender)
    assert result.kind == kind
    assert result.ok == (kind != "invalid")


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("", SENDER_EMPTY),
        ("   ", SENDER_EMPTY),
        ("AB", SENDER_FORMAT),
        ("ABCDEFGHIJKL", SENDER_FORMAT),  # 12 characters
        ("Lila Shop", SENDER_FORMAT),
        ("Lila-Shop", SENDER_FORMAT),
        ("Café", SENDER_FORMAT),
        ("37111", SENDER_SHORT_CODE_RANGE),
        ("12345", SENDER_SHORT_CODE_RANGE),
        ("361111", SENDER_ALL_DIGITS),
        ("0145678901", SENDER_ALL_DIGITS),  # a landline is not a mobile, but is all digits
        ("INFO", SENDER_GENERIC),
        ("info", SENDER_GENERIC),
        ("SMS", SENDER_GENERIC),
        ("ALERTE", SENDER_GENERIC),
        ("RDV", SENDER_GENERIC),
        ("PAIEMENT", SENDER_GENERIC),
        ("BANQUE", SENDER_GENERIC),
        ("COLIS", SENDER_GENERIC),
        ("VERIFY", SENDER_GENERIC),
        ("NOTICE", SENDER_GENERIC),
        ("ORANGE", SENDER_OPERATOR),
        ("Sfr", SENDER_OPERATOR),
        ("BOUYGUES", SENDER_OPERATOR),
        ("FREE", SENDER_OPERATOR),
        ("0612345678", SENDER_MOBILE_NUMBER),
        ("07 12 34 56 78", SENDER_MOBILE_NUMBER),
        ("+33712345678", SENDER_MOBILE_NUMBER),
        ("+262692601234", SENDER_MOBILE_NUMBER),
        ("+590690001234", SENDER_MOBILE_NUMBER),
        ("+262639012345", SENDER_MOBILE_NUMBER),
    ],
)
def test_invalid_senders(sender, reason):
    result = check_sender(sender)
    assert not result.ok
    assert reason in result.reasons
    assert result.messages


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Promo -20% STOP au 36111", True),
        ("Promo -20% stop 36111", True),
        ("Promo STOP SMS 38123", True),
        ("Promo Stop sms au 36999.", True),
        ("Promo STOP au 37111", False),
        ("Promo STOP au 361111", False),
        ("Promo STOPau 36111", False),
        ("Promo -20%", False),
        ("Répondez STOP pour arrêter", False),
    ],
)
def test_stop_mention_regex(body, expected):
    assert has_stop_mention(body) is expected


def test_unsubscribe_url_counts_as_mention():
    assert has_stop_mention("Promo https://lila.fr/u/x", unsubscribe_url="https://lila.fr/u/x")
    assert not has_stop_mention("Promo", unsubscribe_url="https://lila.fr/u/x")


def test_ensure_stop_mention_appends_once():
    assert ensure_stop_mention("Promo -20%  ", "STOP au 36111") == "Promo -20% STOP au 36111"
    assert ensure_stop_mention("Promo STOP au 36111", "STOP au 36222") == "Promo STOP au 36111"
    once = ensure_stop_mention("Promo", "STOP au 36111")
    assert ensure_stop_mention(once, "STOP au 36111") == once
    assert ensure_stop_mention("", "STOP au 36111") == "STOP au 36111"


def test_brand_identifiable():
    assert brand_identifiable("LILA", "Promo", "Lila")
    assert brand_identifiable("36111", "Boutique Lila : -20%", "Boutique Lila")
    assert not brand_identifiable("36111", "Promo -20%", "Boutique Lila")
