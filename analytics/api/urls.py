from django.urls import path

from . import views

# Without a trailing slash, as docs/api.md lists it.
urlpatterns = [
    path("campaigns/<str:pk>/report", views.CampaignReportView.as_view(), name="api-campaign-report"),
]
