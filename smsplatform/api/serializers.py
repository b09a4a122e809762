from rest_framework import serializers


class CreditsSummarySerializer(serializers.Serializer):
    balance = serializers.IntegerField()


class AccountSerializer(serializers.Serializer):
    name = serializers.CharField()
    country = serializers.CharField()
    timezone = serializers.CharField()
    rule_pack = serializers.CharField()
    credits = CreditsSummarySerializer()
