from rest_framework import serializers


class StatusCountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    deferred = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    blocked = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class CampaignReportSerializer(serializers.Serializer):
    """The campaign report (docs/api.md, "Resources")."""

    recipients = serializers.IntegerField()
    status_counts = StatusCountsSerializer()
    blocked_reasons = serializers.DictField(child=serializers.IntegerField())
    deferred_reasons = serializers.DictField(child=serializers.IntegerField())
    delivery_rate = serializers.FloatField()
    clicks = serializers.IntegerField()
    unique_clicks = serializers.IntegerField()
    click_rate = serializers.FloatField()
    opt_outs = serializers.IntegerField()
    opt_out_rate = serializers.FloatField()
    credits_spent = serializers.IntegerField()
