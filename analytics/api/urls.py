from django.urls import path

from . import views

# Without a trailing slash, as written in api.md.
urlpatterns = [
    path("campaigns/<str:pk>/report", views.CampaignReportView.as_view(), name="api-campaign-report"),
]
