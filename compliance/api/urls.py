from django.urls import path

from .views import ComplianceCheckView, MessagePreviewView, SenderViewSet

urlpatterns: list = [
    path("compliance/check", ComplianceCheckView.as_view(), name="api-compliance-check"),
    path("messages/preview", MessagePreviewView.as_view(), name="api-messages-preview"),
    path("senders", SenderViewSet.as_view({"get": "list", "post": "create"}), name="api-senders"),
    path("senders/<str:pk>", SenderViewSet.as_view({"get": "retrieve"}), name="api-sender"),
]
