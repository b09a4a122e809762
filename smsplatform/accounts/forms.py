"""The sign-up form: allauth's (email, password) with the shop's name, its country and the terms."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smsplatform.countries import COUNTRY_CHOICES
from smsplatform.models import Invitation

from . import signup


class SignupForm(AllauthSignupForm):
    """An owner's sign-up creates the account, its organisation and the sign-up credits together
    (:func:`smsplatform.accounts.signup.account_created`). Opened from an invitation, the form asks for the
    password only: the address is the invited one and the organisation exists."""

    org_name = forms.CharField(label=_("Shop or company name"), max_length=200)
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRY_CHOICES, initial="FR")
    accept_terms = forms.BooleanField(label=_("I accept the terms of service"), required=True)

    field_order = ["org_name", "email", "password1", "country", "accept_terms"]

    def __init__(self, *args, invitation: Invitation | None = None, **kwargs):
        self.invitation = invitation
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email address")
        self.fields["password1"].help_text = _(
            "At least 10 characters, not only digits, not a common password."
        )
        # The typed password comes back after an error elsewhere in the form: retyping it is where people
        # give up signing up (the page is served over HTTPS and never cached).
        self.fields["password1"].widget.render_value = True
        # The terms are a link, opened beside the form so that nothing typed is lost.
        self.fields["accept_terms"].label = format_html(
            gettext('I accept the <a href="{url}" target="_blank" rel="noopener">terms of service</a>'),
            url=reverse("terms"),
        )
        if invitation is not None:
            del self.fields["org_name"]
            del self.fields["country"]
            email = self.fields["email"]
            email.initial = invitation.email
            email.disabled = True
            self.fields["password1"].label = _("Choose a password")

    def clean_email(self) -> str:
        if self.invitation is not None:
            # A disabled field keeps its initial value: the invited address, whatever was posted.
            self.cleaned_data["email"] = self.invitation.email
        return super().clean_email()

    def clean(self):
        cleaned = super().clean()
        if self.invitation is not None and not self.invitation.is_open:
            raise ValidationError(gettext("This invitation is no longer valid. Ask for a new one."))
        return cleaned

    def custom_signup(self, request, user) -> None:
        signup.account_created(request, user, self.cleaned_data, invitation=self.invitation)


class LoginForm(AllauthLoginForm):
    """allauth's log-in, with the sign-up's words for the same field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Email address")
