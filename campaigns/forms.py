"""Forms of the campaigns pages that are not the composer (``campaigns/ui``): the inbox reply."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

#: A reply is one conversation message, not a campaign: four segments at most.
REPLY_MAX_LENGTH = 640


class InboxReplyForm(forms.Form):
    """A reply to a contact from the inbox. ``key`` is issued with the form and becomes the message's
    idempotency key, so that a double click or a resubmitted page sends one SMS."""

    text = forms.CharField(
        label=_("Your reply"),
        max_length=REPLY_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "data-testid": "inbox-reply-text"}),
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise forms.ValidationError(_("This form has expired: reload the page."))
        return key
