from django import forms
from django.utils.translation import gettext_lazy as _

from .gate import MARKETING, TRANSACTIONAL


class CheckerForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=32)
    postal_code = forms.CharField(label=_("Postal code (optional)"), max_length=10, required=False)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        label=_("Time (your organisation's time zone)"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    category = forms.ChoiceField(
        label=_("Kind of message"),
        choices=[(MARKETING, _("Marketing")), (TRANSACTIONAL, _("Transactional"))],
        initial=MARKETING,
    )
