from datetime import UTC

from rest_framework import serializers

from compliance.gate import MARKETING, TRANSACTIONAL
from smsplatform.api.fields import BoundedDateTimeField


class CheckInputSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=32)
    at = BoundedDateTimeField(required=False)
    category = serializers.ChoiceField(choices=[MARKETING, TRANSACTIONAL], default=MARKETING)
    postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CheckOutputSerializer(serializers.Serializer):
    decision = serializers.CharField()
    next_allowed_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)  # always UTC
    local_time = serializers.CharField()
    timezone = serializers.CharField()
    region = serializers.CharField()
    rule_pack = serializers.CharField()
    reasons = ReasonSerializer(many=True)
    to = serializers.CharField()
    calendar = serializers.CharField()


class PreviewInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000, trim_whitespace=False)
    sender_id = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    smart_encoding = serializers.BooleanField(required=False, default=False)
    category = serializers.ChoiceField(choices=[MARKETING, TRANSACTIONAL], default=MARKETING)


class CulpritSerializer(serializers.Serializer):
    char = serializers.CharField(trim_whitespace=False)
    codepoint = serializers.CharField()
    count = serializers.IntegerField()
    replacement = serializers.CharField(allow_null=True, trim_whitespace=False)
    segments_if_replaced = serializers.IntegerField()


class PreviewOutputSerializer(serializers.Serializer):
    body = serializers.CharField(trim_whitespace=False)
    encoding = serializers.CharField()
    characters = serializers.IntegerField()
    segments = serializers.IntegerField()
    non_gsm_characters = serializers.ListField(child=serializers.CharField(trim_whitespace=False))
    stop_mention = serializers.BooleanField()
    stop_mention_appended = serializers.BooleanField()
    units = serializers.IntegerField()
    per_segment = serializers.IntegerField()
    segments_if_replaced = serializers.IntegerField()
    culprits = CulpritSerializer(many=True)
    sender = serializers.DictField(allow_null=True)


class SenderInputSerializer(serializers.Serializer):
    # Longer than a sender ID may be, so that the registry explains what is wrong with a long name.
    name = serializers.CharField(max_length=32)
    proof = serializers.FileField(
        required=False, help_text="A PDF, PNG or JPEG of 5 MB at most: the proof that the name is yours."
    )


class SenderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["approved", "pending", "rejected"])
    reason = serializers.CharField(allow_blank=True)
    has_proof = serializers.BooleanField()
    created_at = serializers.DateTimeField()
