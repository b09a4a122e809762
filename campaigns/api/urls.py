from django.urls import path

from . import views

campaigns = views.CampaignViewSet
messages = views.MessageViewSet

# Paths without a trailing slash (docs/api.md). ``campaigns/<pk>/report`` is analytics.api.urls.
urlpatterns = [
    path("campaigns", campaigns.as_view({"get": "list", "post": "create"}), name="api-campaigns"),
    path(
        "campaigns/<str:pk>",
        campaigns.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-campaign",
    ),
    path(
        "campaigns/<str:pk>/estimate", campaigns.as_view({"post": "estimate"}), name="api-campaign-estimate"
    ),
    path("campaigns/<str:pk>/launch", campaigns.as_view({"post": "launch"}), name="api-campaign-launch"),
    path("campaigns/<str:pk>/pause", campaigns.as_view({"post": "pause"}), name="api-campaign-pause"),
    path("campaigns/<str:pk>/resume", campaigns.as_view({"post": "resume"}), name="api-campaign-resume"),
    path("campaigns/<str:pk>/cancel", campaigns.as_view({"post": "cancel"}), name="api-campaign-cancel"),
    path("messages", messages.as_view({"get": "list"}), name="api-messages"),
]
