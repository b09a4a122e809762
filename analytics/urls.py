from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.ReportsIndexView.as_view(), name="index"),
    path("campaigns/<int:pk>/", views.CampaignReportView.as_view(), name="campaign"),
    path("campaigns/<int:pk>/export.csv", views.CampaignReportExportView.as_view(), name="campaign_export"),
    path("campaigns/<int:pk>/utm/", views.CampaignUtmView.as_view(), name="campaign_utm"),
]
