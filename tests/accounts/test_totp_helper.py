"""The tests' own authenticator agrees with RFC 6238, appendix B (SHA1 seed "12345678901234567890", the
last 6 of its 8 digits): the two-factor tests trust it rather than the code they check."""

import base64

from tests.accounts.totp import totp


def test_totp_matches_the_rfc_6238_test_vectors():
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, 59) == "287082"
    assert totp(secret, 1111111109) == "081804"
    assert totp(secret, 2000000000) == "279037"
    assert totp(secret.lower()[:16] + " " + secret.lower()[16:], 59) == "287082"
