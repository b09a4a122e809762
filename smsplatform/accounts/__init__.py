"""Accounts on django-allauth: what the platform adds to its sign-up, log-in, verification and two-factor.

allauth does the flows (sign-up, log-in, email verification, password reset, TOTP and recovery codes, the
list of one's sessions, the rate limits). This package only says what is ours: the shop's details on the
sign-up form, the organisation and its credits created with the account, the invitation that ends in a
sign-up or a log-in, the client address behind our proxies, and the rules "a verified address before real
money" and "two-factor when the organisation requires it". See docs/accounts.md.
"""
