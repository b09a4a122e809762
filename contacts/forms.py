"""Forms of the contacts pages: they parse and validate input; services do the rest."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import CONTACT_FIELDS, ConsentBasis, ContactList, Gender
from .optin_challenge import challenge_verify
from .services import tags_clean


class DateInput(forms.DateInput):
    input_type = "date"


def split_tags(value: str) -> list[str]:
    return tags_clean(value or "")


class ContactForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=40, help_text=_("06 12 34 56 78 or +33 6 12 34 56 78")
    )
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email address"), required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DateInput)
    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas"))
    consent_basis = forms.ChoiceField(
        label=_("Consent"), choices=ConsentBasis.choices, initial=ConsentBasis.UNKNOWN
    )

    # The personal fields are the contact's editable ones, in the model's order (the services take them
    # as they come from cleaned_data).
    field_order = ["phone", *CONTACT_FIELDS, "tags", "consent_basis"]

    def clean_tags(self) -> list[str]:
        return split_tags(self.cleaned_data.get("tags", ""))


class ContactListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class BulkActionForm(forms.Form):
    ACTIONS = [("add_to_list", _("Add to a list")), ("tag", _("Add a tag")), ("delete", _("Delete"))]

    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.CharField(widget=forms.HiddenInput, required=False)
    contact = forms.MultipleChoiceField(required=False)  # the checkboxes; validated by the service
    contact_list = forms.ModelChoiceField(
        queryset=ContactList.objects.none(), required=False, label=_("List")
    )
    tag = forms.CharField(max_length=50, required=False, label=_("Tag"))

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_list"].queryset = ContactList.objects.filter(org=org).order_by("name")
        self.fields["contact"].choices = [(v, v) for v in self.data.getlist("contact")] if self.data else []

    def clean(self):
        data = super().clean()
        if not data.get("contact"):
            raise forms.ValidationError(_("Select at least one contact."))
        if data.get("action") == "add_to_list" and not data.get("contact_list"):
            self.add_error("contact_list", _("Choose a list."))
        if data.get("action") == "tag" and not (data.get("tag") or "").strip():
            self.add_error("tag", _("Type a tag."))
        return data


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    tags = forms.CharField(label=_("Tags (any of)"), required=False, help_text=_("Separated by commas"))
    lists = forms.ModelMultipleChoiceField(
        label=_("Lists (any of)"), queryset=ContactList.objects.none(), required=False
    )
    postal_code_prefix = forms.CharField(label=_("Postal code starts with"), max_length=12, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False)
    age_min = forms.IntegerField(label=_("Minimum age"), min_value=0, max_value=130, required=False)
    age_max = forms.IntegerField(label=_("Maximum age"), min_value=0, max_value=130, required=False)
    attribute_key = forms.CharField(label=_("Attribute"), max_length=40, required=False)
    attribute_op = forms.ChoiceField(
        label=_("Condition"), choices=[("equals", _("equals")), ("contains", _("contains"))], required=False
    )
    attribute_value = forms.CharField(label=_("Value"), max_length=200, required=False)
    created_since = forms.DateField(label=_("Created since"), required=False, widget=DateInput)

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].queryset = ContactList.objects.filter(org=org).order_by("name")

    def filters(self) -> dict:
        """The segment filters in the service's format (call after is_valid)."""
        d = self.cleaned_data
        filters: dict = {
            "tags": split_tags(d.get("tags", "")),
            "lists": [lst.pk for lst in d.get("lists") or []],
            "postal_code_prefix": d.get("postal_code_prefix", ""),
            "city": d.get("city", ""),
            "gender": d.get("gender", ""),
            "age_min": d.get("age_min"),
            "age_max": d.get("age_max"),
            "created_since": d.get("created_since"),
        }
        if d.get("attribute_key"):
            filters["attributes"] = [
                {
                    "key": d["attribute_key"],
                    "op": d.get("attribute_op") or "equals",
                    "value": d.get("attribute_value", ""),
                }
            ]
        return {k: v for k, v in filters.items() if v not in (None, "", [])}

    @classmethod
    def initial_from(cls, segment) -> dict:
        f = segment.filters or {}
        attr = (f.get("attributes") or [{}])[0]
        return {
            "name": segment.name,
            "tags": ", ".join(f.get("tags", [])),
            "lists": f.get("lists", []),
            "postal_code_prefix": f.get("postal_code_prefix", ""),
            "city": f.get("city", ""),
            "gender": f.get("gender", ""),
            "age_min": f.get("age_min"),
            "age_max": f.get("age_max"),
            "attribute_key": attr.get("key", ""),
            "attribute_op": attr.get("op", "equals"),
            "attribute_value": attr.get("value", ""),
            "created_since": f.get("created_since"),
        }


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("CSV (semicolon or comma separated) or Excel .xlsx, straight from your till or Excel."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than the %(limit)s MB limit. Split it into smaller files.")
                % {"limit": f"{limit / (1024 * 1024):.0f}"}
            )
        return upload


class ImportMappingForm(forms.Form):
    keep_unknown_columns = forms.BooleanField(label=_("Keep the other columns as attributes"), required=False)

    def __init__(
        self, *args, headers: list[str], field_choices: list[tuple[str, str]], initial_mapping: dict, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", _("Ignore this column")), ("attribute", _("Keep as an attribute")), *field_choices]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("Column %(n)s") % {"n": index + 1},
                choices=choices,
                required=False,
                initial=initial_mapping.get(header, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data.get(f"col_{i}", "") for i, header in enumerate(self.headers)}


# What each consent basis means for a shop owner, the proof it needs, and what it leads to
# (docs/compliance.md, "Consent"): shown beside each choice of the import's consent step.
BASIS_EXPLANATIONS = {
    ConsentBasis.OPT_IN: {
        "meaning": _(
            "Each person actively agreed to receive your SMS offers: a box ticked, a form signed, a "
            "keyword texted. A pre-ticked box or silence does not count."
        ),
        "proof": _(
            "Proof to keep: the signed form or the record of the ticked box, with its date and the "
            "wording shown."
        ),
        "effect": _("These contacts can receive your marketing campaigns."),
    },
    ConsentBasis.SOFT_OPT_IN: {
        "meaning": _(
            "These people bought from you (or asked for a quote) and gave their number at that moment. "
            "You may text them offers about products similar to what they bought, provided they were told "
            "when their number was collected and could refuse for free."
        ),
        "proof": _(
            "Proof to keep: the sale (receipt, till or loyalty record) and how they were told they could "
            "refuse (notice at the till, mention on the receipt or the loyalty form)."
        ),
        "effect": _(
            "These contacts can receive your marketing campaigns about products similar to what they "
            "bought; each SMS lets them opt out with STOP."
        ),
    },
    ConsentBasis.NONE: {
        "meaning": _(
            "You have no consent for marketing: numbers bought or copied from elsewhere, or you do not know."
        ),
        "proof": _("No proof needed."),
        "effect": _(
            "These contacts are imported but receive transactional messages only (order ready, "
            "appointment reminder), never a marketing campaign: the platform blocks it."
        ),
    },
}


class ImportConsentForm(forms.Form):
    # A till export lists customers who bought in the shop: the existing-customer basis.
    RECOMMENDED_BASIS = ConsentBasis.SOFT_OPT_IN

    consent_basis = forms.ChoiceField(
        label=_("Consent basis of these contacts"),
        choices=[(ConsentBasis.OPT_IN, ConsentBasis.OPT_IN.label),
                 (ConsentBasis.SOFT_OPT_IN, ConsentBasis.SOFT_OPT_IN.label),
                 (ConsentBasis.NONE, ConsentBasis.NONE.label)],
        widget=forms.RadioSelect,
    )  # fmt: skip
    consent_source = forms.CharField(
        label=_("Where and how were the consents collected?"),
        max_length=300,
        help_text=_("For example: loyalty card form signed in the shop, checkbox on our website."),
    )
    contact_list = forms.ModelChoiceField(
        label=_("Add the contacts to a list"), queryset=ContactList.objects.none(), required=False
    )
    list_name = forms.CharField(
        label=_("…or a new list"),
        max_length=100,
        required=False,
        help_text=_("Left empty: a new list named after the file, so that you can write to these contacts."),
    )
    tags = forms.CharField(label=_("Tag every imported contact"), required=False)
    attest = forms.BooleanField(
        label=_("I certify that these contacts gave the consent declared above and that I can prove it."),
        required=True,
    )

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_list"].queryset = ContactList.objects.filter(org=org).order_by("name")

    def basis_options(self) -> list[dict]:
        """Each radio button of the basis with its explanation, for the template."""
        return [
            {
                "choice": choice,
                "recommended": choice.data["value"] == self.RECOMMENDED_BASIS,
                **BASIS_EXPLANATIONS.get(choice.data["value"], {}),
            }
            for choice in self["consent_basis"]
        ]

    def clean_tags(self) -> list[str]:
        return split_tags(self.cleaned_data.get("tags", ""))


class OptOutForm(forms.Form):
    phone = forms.CharField(label=_("Mobile phone"), max_length=40)


class OptInSettingsForm(forms.Form):
    # Online or offline is a one-click switch of its own on the page (OptInToggleForm).
    title = forms.CharField(label=_("Title"), max_length=120, required=False)
    wording = forms.CharField(
        label=_("Consent wording"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Changing it creates a new version; every proof keeps the version the person saw."),
    )
    contact_list = forms.ModelChoiceField(
        label=_("Add sign-ups to a list"), queryset=ContactList.objects.none(), required=False
    )
    countries = forms.CharField(
        label=_("Accepted countries"),
        max_length=400,
        required=False,
        help_text=_(
            "Two-letter codes of the countries whose mobile numbers may sign up, separated by commas "
            "(FR, BE...). Empty: your organisation's country. Numbers of other countries get no code."
        ),
    )

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_list"].queryset = ContactList.objects.filter(org=org).order_by("name")


class OptInToggleForm(forms.Form):
    toggle = forms.ChoiceField(choices=[("on", "on"), ("off", "off")])


class PublicOptInForm(forms.Form):
    phone = forms.CharField(label=_("Mobile phone"), max_length=40)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    consent = forms.BooleanField(required=True)  # labelled with the organisation's wording in the template
    website = forms.CharField(required=False, widget=forms.HiddenInput)  # honeypot: bots fill it
    # The solved proof of work, written by the ALTCHA widget (contacts.optin_challenge).
    altcha = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org

    def clean_altcha(self) -> str:
        payload = self.cleaned_data.get("altcha", "")
        challenge_verify(org=self.org, payload=payload)
        return payload


class PublicOptInCodeForm(forms.Form):
    code = forms.CharField(label=_("Code received by SMS"), max_length=6, min_length=6)
