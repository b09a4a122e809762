"""The campaign pages, included at /campaigns/ before the backend's campaigns.urls (which owns
/campaigns/phone/ and the inbox)."""

from django.urls import path

from . import views

app_name = "campaigns_ui"
urlpatterns = [
    path("", views.CampaignListView.as_view(), name="list"),
    path("new/", views.CampaignCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CampaignEditView.as_view(), name="edit"),
    path("<int:pk>/estimate/", views.CampaignEstimateView.as_view(), name="estimate"),
    path("<int:pk>/launch/", views.CampaignActionView.as_view(action="launch"), name="launch"),
    path("<int:pk>/pause/", views.CampaignActionView.as_view(action="pause"), name="pause"),
    path("<int:pk>/resume/", views.CampaignActionView.as_view(action="resume"), name="resume"),
    path("<int:pk>/cancel/", views.CampaignActionView.as_view(action="cancel"), name="cancel"),
    path("<int:pk>/delete/", views.CampaignActionView.as_view(action="delete"), name="delete"),
    path("<int:pk>/reschedule/", views.CampaignRescheduleView.as_view(), name="reschedule"),
    path("<int:pk>/at-preview/", views.CampaignAtPreviewView.as_view(), name="at_preview"),
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path("calendar/events/", views.CalendarEventsView.as_view(), name="calendar_events"),
    path("compose/counter/", views.ComposerCounterView.as_view(), name="counter"),
    path("compose/fix/", views.ComposerFixView.as_view(), name="fix"),
    path("compose/window/", views.ComposerWindowView.as_view(), name="window"),
    path("compose/test-send/", views.TestSendView.as_view(), name="test_send"),
    path("compose/own-number/", views.OwnNumberCodeView.as_view(), name="own_number_code"),
    path("compose/own-number/confirm/", views.OwnNumberConfirmView.as_view(), name="own_number_confirm"),
    path("templates/", views.TemplatesView.as_view(), name="templates"),
    path("templates/<int:pk>/delete/", views.TemplateDeleteView.as_view(), name="template_delete"),
]
