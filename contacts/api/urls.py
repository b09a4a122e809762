from django.urls import path

from . import views

contacts = views.ContactViewSet
lists = views.ContactListViewSet
imports = views.ImportViewSet
optouts = views.OptOutViewSet

# Paths without a trailing slash, as docs/api.md lists them.
urlpatterns = [
    path("contacts", contacts.as_view({"get": "list", "post": "create"}), name="api-contacts"),
    path(
        "contacts/<str:pk>",
        contacts.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-contact",
    ),
    path("lists", lists.as_view({"get": "list", "post": "create"}), name="api-lists"),
    path("lists/<str:pk>", lists.as_view({"get": "retrieve"}), name="api-list"),
    path("lists/<str:pk>/contacts", lists.as_view({"post": "add_contacts"}), name="api-list-contacts"),
    path("imports", imports.as_view({"get": "list", "post": "create"}), name="api-imports"),
    path("imports/<str:pk>", imports.as_view({"get": "retrieve"}), name="api-import"),
    path("imports/<str:pk>/errors", imports.as_view({"get": "errors"}), name="api-import-errors"),
    path("optouts", optouts.as_view({"get": "list", "post": "create"}), name="api-optouts"),
]
