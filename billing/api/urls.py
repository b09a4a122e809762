from django.urls import path

from . import views

urlpatterns = [
    path("credits", views.CreditsView.as_view(), name="api-credits"),
    path("purchases", views.PurchaseListView.as_view(), name="billing-api-purchases"),
    path("purchases/<int:pk>", views.PurchaseDetailView.as_view(), name="billing-api-purchase"),
    path("invoices", views.InvoiceListView.as_view(), name="billing-api-invoices"),
    path("invoices/<int:pk>", views.InvoiceDetailView.as_view(), name="billing-api-invoice"),
    path("invoices/<int:pk>/pdf", views.InvoicePdfView.as_view(), name="billing-api-invoice-pdf"),
]
