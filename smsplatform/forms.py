from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compliance.packs import pack_choices

from .countries import COUNTRY_CHOICES
from .models import Organisation, Role, User
from .services import ORGANISATION_SETTINGS_FIELDS, assignable_roles
from .timezones import timezone_choices


class SignupForm(forms.Form):
    org_name = forms.CharField(label=_("Shop or company name"), max_length=200)
    email = forms.EmailField(label=_("Email address"))
    # The typed password comes back after an error elsewhere in the form: retyping it is where people
    # give up signing up (the page is served over HTTPS and never cached).
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(render_value=True),
        strip=False,
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRY_CHOICES, initial="FR")
    accept_terms = forms.BooleanField(label=_("I accept the terms of service"), required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The terms are a link (opened beside the form, so that nothing typed is lost).
        self.fields["accept_terms"].label = format_html(
            gettext('I accept the <a href="{url}" target="_blank" rel="noopener">terms of service</a>'),
            url=reverse("terms"),
        )

    def clean_password(self) -> str:
        """The strength rules checked with the other fields, so that every error shows at once (the
        sign-up service checks them again before hashing)."""
        password = self.cleaned_data["password"]
        try:
            validate_password(password, user=User(email=self.cleaned_data.get("email", "")))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        return password


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email address"), widget=forms.EmailInput(attrs={"autofocus": True}))


class OrganisationSettingsForm(forms.ModelForm):
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRY_CHOICES)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        error_messages={"invalid_choice": _("“%(value)s” is not a time zone of the list: choose one.")},
    )
    rule_pack = forms.ChoiceField(
        label=_("Rule pack"),
        help_text=_("The sending rules your messages follow (hours, days, caps)."),
        error_messages={"invalid_choice": _("“%(value)s” is not a rule pack of the list: choose one.")},
    )

    class Meta:
        model = Organisation
        fields = list(ORGANISATION_SETTINGS_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices(current=self.instance.timezone)
        self.fields["rule_pack"].choices = pack_choices()


def _offer_roles(field: forms.ChoiceField, actor_role: str | None) -> None:
    """Offers only the roles the acting member may give (an admin never sees "owner"). The field still
    accepts every role, so that a forged "owner" reaches the service and gets its explicit refusal rather
    than a vague "not one of the available choices"."""
    allowed = assignable_roles(actor_role or "")
    field.widget.choices = [(value, label) for value, label in Role.choices if value in allowed]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MARKETER)

    def __init__(self, *args, actor_role: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_roles(self.fields["role"], actor_role)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, actor_role: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_roles(self.fields["role"], actor_role)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    role = forms.ChoiceField(
        label=_("Access"),
        choices=[
            (Role.ADMIN, _("Full access")),
            (Role.MARKETER, _("Marketing (no settings)")),
            (Role.ANALYST, _("Read only")),
        ],
        initial=Role.ADMIN,
    )


class InvitationSignupForm(forms.Form):
    password = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput, strip=False)
