from django.urls import path

from . import views

app_name = "campaigns"

# The campaign pages themselves (list, detail, composer, calendar) are campaigns.ui.urls.
urlpatterns = [
    path("messages/", views.MessagesView.as_view(), name="messages"),
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("inbox/<int:pk>/", views.InboxConversationView.as_view(), name="inbox_conversation"),
    path("inbox/<int:pk>/reply/", views.InboxReplyView.as_view(), name="inbox_reply"),
    path("inbox/<int:pk>/reviewed/", views.InboxReviewView.as_view(), name="inbox_reviewed"),
    path("phone/", views.PhoneView.as_view(), name="phone"),
    path("phone/thread/", views.PhoneThreadView.as_view(), name="phone_thread"),
    path("phone/reply/", views.PhoneReplyView.as_view(), name="phone_reply"),
]
