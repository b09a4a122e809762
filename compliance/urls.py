from django.urls import path

from .views import SendingRulesView

app_name = "compliance"
urlpatterns: list = [
    path("", SendingRulesView.as_view(), name="sending_rules"),
]
