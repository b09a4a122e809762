from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BillingSettings
from .selectors import packs_on_sale


class BuyForm(forms.Form):
    pack = forms.ModelChoiceField(queryset=packs_on_sale(), label=_("Pack"), widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pack"].queryset = packs_on_sale()


class BillingSettingsForm(forms.ModelForm):
    class Meta:
        model = BillingSettings
        fields = ["low_balance_threshold", "billing_email", "billing_address", "vat_number", "siren"]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}


class CreditAdjustForm(forms.Form):
    """The operator's form in the admin: a signed amount and a mandatory reason."""

    amount = forms.IntegerField(label=_("Credits"), help_text=_("Positive to give, negative to take back."))
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("The amount cannot be zero."))
        return amount
