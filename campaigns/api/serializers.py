"""Input and output shapes of the campaigns API (docs/api.md); validation only, the services decide."""

from __future__ import annotations

from rest_framework import serializers

from smsplatform.api.fields import BoundedDateTimeField

from ..models import Campaign, Category, Message

# The same plain choice set as the compliance API's ``category``, so that the OpenAPI schema has one enum.
CATEGORIES = [Category.MARKETING.value, Category.TRANSACTIONAL.value]


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign as the API returns it (docs/api.md, "Resources"); every field is read-only."""

    category = serializers.ChoiceField(choices=CATEGORIES, read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "body",
            "sender_id",
            "category",
            "list_ids",
            "segment_ids",
            "smart_encoding",
            "transliterate_merge_values",
            "scheduled_at",
            "status",
            "created_at",
            "launched_at",
            "completed_at",
            "recipients",
            "credits_reserved",
            "credits_spent",
            "failure_reason",
        ]
        read_only_fields = fields


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    body = serializers.CharField()
    sender_id = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=CATEGORIES, required=False, default=Category.MARKETING.value)
    list_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    segment_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    scheduled_at = BoundedDateTimeField(required=False, allow_null=True, default=None)
    smart_encoding = serializers.BooleanField(required=False, default=False)
    transliterate_merge_values = serializers.BooleanField(required=False, default=False)


class EstimateInputSerializer(serializers.Serializer):
    at = BoundedDateTimeField(required=False, allow_null=True, default=None)


class EstimateSerializer(serializers.Serializer):
    recipients = serializers.IntegerField()
    credits = serializers.IntegerField()
    credits_after_blocks = serializers.IntegerField()
    encoding = serializers.CharField()
    segments = serializers.IntegerField()
    deferred = serializers.IntegerField()
    deferred_until = serializers.DateTimeField(allow_null=True)
    blocked = serializers.DictField(child=serializers.IntegerField())
    at = serializers.DateTimeField()
    balance = serializers.IntegerField()


class MessageSerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(source="campaign_id", read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "campaign",
            "to",
            "body",
            "status",
            "encoding",
            "segments",
            "deferred_until",
            "block_reason",
            "sent_at",
            "delivered_at",
        ]
        read_only_fields = fields
