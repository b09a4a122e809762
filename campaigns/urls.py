from django.urls import path

from .views import calendar, campaigns, composer, inbox, messages, phone, templates

app_name = "campaigns"

urlpatterns = [
    path("", campaigns.CampaignListView.as_view(), name="list"),
    path("new/", campaigns.CampaignCreateView.as_view(), name="create"),
    path("<int:pk>/", campaigns.CampaignDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", campaigns.CampaignEditView.as_view(), name="edit"),
    path("<int:pk>/estimate/", campaigns.CampaignEstimateView.as_view(), name="estimate"),
    path("<int:pk>/launch/", campaigns.CampaignActionView.as_view(action="launch"), name="launch"),
    path("<int:pk>/pause/", campaigns.CampaignActionView.as_view(action="pause"), name="pause"),
    path("<int:pk>/resume/", campaigns.CampaignActionView.as_view(action="resume"), name="resume"),
    path("<int:pk>/cancel/", campaigns.CampaignActionView.as_view(action="cancel"), name="cancel"),
    path("<int:pk>/delete/", campaigns.CampaignActionView.as_view(action="delete"), name="delete"),
    path("<int:pk>/reschedule/", calendar.CampaignRescheduleView.as_view(), name="reschedule"),
    path("<int:pk>/at-preview/", calendar.CampaignAtPreviewView.as_view(), name="at_preview"),
    path("calendar/", calendar.CalendarView.as_view(), name="calendar"),
    path("calendar/events/", calendar.CalendarEventsView.as_view(), name="calendar_events"),
    path("compose/counter/", composer.ComposerCounterView.as_view(), name="counter"),
    path("compose/fix/", composer.ComposerFixView.as_view(), name="fix"),
    path("compose/window/", composer.ComposerWindowView.as_view(), name="window"),
    path("compose/test-send/", composer.TestSendView.as_view(), name="test_send"),
    path("compose/test-contacts/", composer.TestContactsView.as_view(), name="test_contacts"),
    path("compose/own-number/", composer.OwnNumberCodeView.as_view(), name="own_number_code"),
    path("compose/own-number/confirm/", composer.OwnNumberConfirmView.as_view(), name="own_number_confirm"),
    path("templates/", templates.TemplatesView.as_view(), name="templates"),
    path("templates/<int:pk>/delete/", templates.TemplateDeleteView.as_view(), name="template_delete"),
    path("messages/", messages.MessagesView.as_view(), name="messages"),
    path("inbox/", inbox.InboxView.as_view(), name="inbox"),
    path("inbox/<int:pk>/", inbox.InboxConversationView.as_view(), name="inbox_conversation"),
    path("inbox/<int:pk>/reply/", inbox.InboxReplyView.as_view(), name="inbox_reply"),
    path("inbox/<int:pk>/reviewed/", inbox.InboxReviewView.as_view(), name="inbox_reviewed"),
    path("phone/", phone.PhoneView.as_view(), name="phone"),
    path("phone/thread/", phone.PhoneThreadView.as_view(), name="phone_thread"),
    path("phone/reply/", phone.PhoneReplyView.as_view(), name="phone_reply"),
]
