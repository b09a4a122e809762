"""Public URLs, included at the root: the short links' redirect (no login, no organisation)."""

from django.urls import path

from . import views

urlpatterns = [
    path("r/<str:code>", views.short_link_redirect, name="short_link"),
]
