from django.urls import path

from .views import SenderProofView, SendersView, SendingRulesView

app_name = "compliance"
urlpatterns: list = [
    path("", SendingRulesView.as_view(), name="sending_rules"),
    path("senders/", SendersView.as_view(), name="senders"),
    path("senders/<int:pk>/proof/", SenderProofView.as_view(), name="sender_proof"),
]
