from django import forms
from django.utils.translation import gettext_lazy as _

from compliance.packs import pack_choices

from .countries import COUNTRY_CHOICES
from .models import Organisation, Role
from .services import ORGANISATION_SETTINGS_FIELDS, assignable_roles
from .timezones import timezone_choices


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

    def __init__(self, *args, actor_role: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices(current=self.instance.timezone)
        self.fields["rule_pack"].choices = pack_choices()
        if actor_role != Role.OWNER:
            # Shown, but an admin's form keeps the stored value whatever is posted.
            self.fields["require_mfa"].disabled = True
            self.fields["require_mfa"].help_text = _("Only an owner can change this.")


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
