from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("", views.ContactListView.as_view(), name="list"),
    path("new/", views.ContactCreateView.as_view(), name="create"),
    path("bulk/", views.ContactBulkView.as_view(), name="bulk"),
    path("export.csv", views.ContactExportView.as_view(), name="export"),
    path("<int:pk>/", views.ContactDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ContactEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.ContactDeleteView.as_view(), name="delete"),
    path("<int:pk>/optout/", views.ContactOptOutView.as_view(), name="optout"),
    path("<int:pk>/gdpr/export/", views.ContactGdprExportView.as_view(), name="gdpr_export"),
    path("<int:pk>/gdpr/erase/", views.ContactGdprEraseView.as_view(), name="gdpr_erase"),
    path("lists/", views.ListsView.as_view(), name="lists"),
    path("lists/<int:pk>/", views.ListDetailView.as_view(), name="list_detail"),
    path("lists/<int:pk>/delete/", views.ListDeleteView.as_view(), name="list_delete"),
    path("segments/", views.SegmentsView.as_view(), name="segments"),
    path("segments/new/", views.SegmentEditView.as_view(), name="segment_create"),
    path("segments/count/", views.SegmentCountView.as_view(), name="segment_count"),
    path("segments/<int:pk>/", views.SegmentEditView.as_view(), name="segment_edit"),
    path("segments/<int:pk>/delete/", views.SegmentDeleteView.as_view(), name="segment_delete"),
    path("import/", views.ImportUploadView.as_view(), name="import"),
    path("import/<str:token>/mapping/", views.ImportMappingView.as_view(), name="import_mapping"),
    path("import/<str:token>/preview/", views.ImportPreviewView.as_view(), name="import_preview"),
    path("import/<str:token>/consent/", views.ImportConsentView.as_view(), name="import_consent"),
    path("import/<str:token>/totals/", views.ImportTotalsView.as_view(), name="import_totals"),
    path("imports/", views.ImportsView.as_view(), name="imports"),
    path("imports/<int:pk>/", views.ImportJobView.as_view(), name="import_job"),
    path("imports/<int:pk>/rejected.csv", views.ImportRejectedView.as_view(), name="import_rejected"),
    path("imports/<int:pk>/resume/", views.ImportResumeView.as_view(), name="import_resume"),
    path("optouts/", views.OptOutsView.as_view(), name="optouts"),
    path("opt-in-form/", views.OptInSettingsView.as_view(), name="optin_settings"),
    # Until the lead includes `public_urlpatterns` at the root (/f/<slug>/), the form is served here too.
    path("f/<slug:slug>/", views.PublicOptInView.as_view(), name="public_optin"),
    path("f/<slug:slug>/challenge/", views.PublicOptInChallengeView.as_view(), name="public_optin_challenge"),
    path(
        "f/<slug:slug>/confirm/<str:token>/",
        views.PublicOptInConfirmView.as_view(),
        name="public_optin_confirm",
    ),
]

# The public opt-in form, included at the site root by smsplatform/urls.py:
#     path("", include((public_urlpatterns, "contacts_public")))
public_urlpatterns = [
    path("f/<slug:slug>/", views.PublicOptInView.as_view(), name="optin"),
    path("f/<slug:slug>/challenge/", views.PublicOptInChallengeView.as_view(), name="optin_challenge"),
    path("f/<slug:slug>/confirm/<str:token>/", views.PublicOptInConfirmView.as_view(), name="optin_confirm"),
]
