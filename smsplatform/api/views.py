from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from billing.selectors import credits_balance
from smsplatform.tenancy import TenantAPIView

from .serializers import AccountSerializer


class AccountView(TenantAPIView):
    """The organisation behind the API key, and its credits."""

    serializer_class = AccountSerializer

    @extend_schema(responses=AccountSerializer)
    def get(self, request):
        org = self.org
        data = {
            "name": org.name,
            "country": org.country,
            "timezone": org.timezone,
            "rule_pack": org.rule_pack,
            "credits": {"balance": credits_balance(org)},
        }
        return Response(AccountSerializer(data).data)
