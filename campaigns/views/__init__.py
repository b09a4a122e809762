"""The campaigns pages, one tree under /campaigns/ (campaigns/urls.py): the composer (step 2), the
campaign pages and the calendar (step 3), saved templates, messages with their status and reason, the
inbox of replies, and the sandbox's virtual phone.

Views validate a form, call a service of :mod:`campaigns.services`, and render. A refusal of the domain
(:class:`smsplatform.errors.DomainError`) answers its own status, shown in words: 402 (not enough
credits, with the way to buy more), 409 (the campaign is not in a state that allows the action), 400
(invalid input).
"""
