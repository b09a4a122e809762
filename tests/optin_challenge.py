"""Solving the public opt-in form's proof-of-work in tests, as a visitor's browser does: fetch a challenge
from the form's endpoint and brute-force it with the altcha library's own solver. Nothing is switched off.
"""

from __future__ import annotations

import altcha


def altcha_payload(client, form_url: str, **extra) -> str:
    """The ``altcha`` field a browser would post with the form at ``form_url`` ("" when the form serves no
    challenge, so that a test still says what it checks on a form without one)."""
    response = client.get(form_url.rstrip("/") + "/challenge/", **extra)
    if response.status_code == 404:
        return ""
    assert response.status_code == 200, response.content
    challenge = altcha.Challenge.from_dict(response.json())
    solution = altcha.solve_challenge(challenge, timeout=0)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()
