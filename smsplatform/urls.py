from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from contacts import urls as contacts_urls
from smsplatform import views
from smsplatform.accounts import views as account_views
from smsplatform.api import views as api_views

api_v1 = [
    path("account", api_views.AccountView.as_view(), name="api-account"),
    path("", include("contacts.api.urls")),
    path("", include("compliance.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("analytics.api.urls")),
]

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    # Accounts are allauth's (docs/accounts.md); its sign-up view is ours, to create the organisation too.
    path("accounts/signup/", account_views.SignupView.as_view(), name="account_signup"),
    path(
        "accounts/email/resend/",
        account_views.ResendVerificationView.as_view(),
        name="account_verification_resend",
    ),
    path("accounts/", include("allauth.urls")),
    # The short addresses printed on flyers and in earlier emails.
    path("signup/", RedirectView.as_view(pattern_name="account_signup", query_string=True)),
    path("login/", RedirectView.as_view(pattern_name="account_login", query_string=True)),
    path("terms/", TemplateView.as_view(template_name="registration/terms.html"), name="terms"),
    path("org/none/", views.NoOrganisationView.as_view(), name="org_required"),
    path("org/switch/", views.SwitchOrganisationView.as_view(), name="org_switch"),
    path("settings/", views.OrganisationSettingsView.as_view(), name="org_settings"),
    path("settings/members/", views.MembersView.as_view(), name="members"),
    path("settings/members/<int:pk>/role/", views.MemberRoleView.as_view(), name="member_role"),
    path("settings/members/<int:pk>/remove/", views.MemberRemoveView.as_view(), name="member_remove"),
    path(
        "settings/invitations/<int:pk>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", account_views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("settings/api-keys/", views.ApiKeysView.as_view(), name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
    path("settings/audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("contacts/", include("contacts.urls")),
    path("compliance/", include("compliance.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("billing/", include("billing.urls")),
    path("webhooks/sms/", include("campaigns.webhook_urls")),
    path("reports/", include("analytics.urls")),
    path("", include("analytics.public_urls")),
    path("", include((contacts_urls.public_urlpatterns, "contacts_public"))),
]

handler404 = "smsplatform.views.page_not_found"
handler500 = "smsplatform.views.server_error"
