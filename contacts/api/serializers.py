"""API serializers of contacts, lists, imports and opt-outs (docs/api.md): validate input and render output;
every write goes through a service."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from smsplatform.api.fields import StorableJSONField, validate_storable_json

from ..models import CONTACT_FIELDS, ConsentBasis, ConsentSource, Contact, ContactList, Gender, ImportJob
from ..selectors import tag_names


class ConsentSerializer(serializers.Serializer):
    basis = serializers.ChoiceField(choices=ConsentBasis.choices)
    source = serializers.ChoiceField(choices=ConsentSource.choices, required=False, allow_blank=True)
    collected_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ContactSerializer(serializers.ModelSerializer):
    """Output of a contact; ``tags`` come from the page's prefetch (no query per contact)."""

    tags = serializers.SerializerMethodField()
    consent = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = ["id", "phone", *CONTACT_FIELDS, "tags", "attributes", "consent", "opted_out", "created_at"]
        read_only_fields = fields

    def get_tags(self, obj: Contact) -> list[str]:
        return tag_names(obj)

    def get_consent(self, obj: Contact) -> dict:
        return {
            "basis": obj.consent_basis,
            "source": obj.consent_source,
            "collected_at": serializers.DateTimeField().to_representation(obj.consent_collected_at)
            if obj.consent_collected_at
            else None,
        }


class ContactInputSerializer(serializers.Serializer):
    """Input of POST and PATCH /contacts; ``phone`` in national or international form."""

    phone = serializers.CharField(max_length=40)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    postal_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    attributes = serializers.DictField(required=False, validators=[validate_storable_json])
    consent = ConsentSerializer(required=False)
    list_ids = serializers.ListField(child=serializers.IntegerField(), required=False, write_only=True)


class ContactFiltersSerializer(serializers.Serializer):
    """The query parameters of ``GET /contacts`` that reach the database as text (a NUL is refused)."""

    search = serializers.CharField(required=False, allow_blank=True)
    tag = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class ContactListSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactList
        fields = ["id", "name", "description", "created_at"]
        read_only_fields = ["id", "created_at"]


class ListContactsInputSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=False, max_length=10_000
    )


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    list = serializers.IntegerField(required=False, allow_null=True)
    list_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    # A plain string (validated by the service) so that the schema has one ConsentBasis enum only.
    consent_basis = serializers.CharField(max_length=16, help_text="opt_in, soft_opt_in, none or unknown")
    consent_source = serializers.CharField(max_length=300)
    mapping = StorableJSONField(required=False)
    keep_unknown_columns = serializers.BooleanField(required=False, default=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)


class ImportJobSerializer(serializers.ModelSerializer):
    errors_url = serializers.SerializerMethodField()
    invalid_by_reason = serializers.JSONField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "original_filename", "total_rows", "processed_rows", "created", "updated",
            "invalid",
            "duplicates", "suppressed", "invalid_by_reason", "error_message", "created_at", "finished_at",
            "errors_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_errors_url(self, obj: ImportJob) -> str | None:
        if not obj.rejected_path:
            return None
        request = self.context.get("request")
        url = reverse("api-import-errors", args=[obj.pk])
        return request.build_absolute_uri(url) if request else url


class OptOutSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=40)
    created_at = serializers.DateTimeField(read_only=True)
    source = serializers.CharField(read_only=True)

    def to_representation(self, instance):
        return {
            "phone": instance.phone_e164 or None,
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
            "source": instance.source,
        }
