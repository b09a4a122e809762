from django.urls import path

from .views import ComplianceCheckView, MessagePreviewView

urlpatterns: list = [
    path("compliance/check", ComplianceCheckView.as_view(), name="api-compliance-check"),
    path("messages/preview", MessagePreviewView.as_view(), name="api-messages-preview"),
]
