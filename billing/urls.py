from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("", views.BillingView.as_view(), name="index"),
    path("settings/", views.BillingSettingsView.as_view(), name="settings"),
    path("buy/", views.BuyView.as_view(), name="buy"),
    path("purchases/return/", views.PurchaseReturnView.as_view(), name="purchase_return"),
    path("purchases/<int:pk>/", views.PurchaseDetailView.as_view(), name="purchase"),
    path("purchases/<int:pk>/fake-checkout/", views.FakeCheckoutView.as_view(), name="fake_checkout"),
    path("invoices/<int:pk>/pdf/", views.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("webhooks/stripe/", views.StripeWebhookView.as_view(), name="stripe_webhook"),
]
