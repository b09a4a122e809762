"""API v1: contacts, lists, imports and opt-outs (docs/api.md). Views validate, call a service, render."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from compliance.models import Suppression
from smsplatform.api.parsers import JSONParser
from smsplatform.tenancy import TenantModelViewSet, TenantViewSet, get_org_object_or_404

from .. import jobs, services
from ..downloads import rejected_rows_response
from ..models import ConsentSource, Contact, ContactList, ImportJob
from ..selectors import contacts_filtered, with_tags
from .serializers import (
    ContactFiltersSerializer,
    ContactInputSerializer,
    ContactListSerializer,
    ContactSerializer,
    ImportCreateSerializer,
    ImportJobSerializer,
    ListContactsInputSerializer,
    OptOutSerializer,
)


def _file_refusal_with_code(exc: DjangoValidationError) -> Exception:
    """An unusable file answers ``{"file": [message], "code": "<reason>"}``: the code (``line_too_long``,
    ``xlsx_expands_too_much``...) lets a client tell the reasons apart; other refusals pass unchanged."""
    errors = getattr(exc, "error_dict", {}).get("file")
    if not errors or not errors[0].code:
        return exc
    return ValidationError({"file": [str(m) for e in errors for m in e], "code": errors[0].code})


def _bool_param(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() in ("1", "true", "yes", "on")


class ContactViewSet(TenantModelViewSet):
    """Contacts of the organisation; filters ``?search=``, ``?tag=``, ``?list=``, ``?opted_out=``."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def safely_get_queryset(self, queryset):
        if self.action == "list":
            params = self.request.query_params
            filters = ContactFiltersSerializer(data=params)
            filters.is_valid(raise_exception=True)
            queryset = contacts_filtered(
                self.org,
                search=filters.validated_data.get("search", ""),
                tag=filters.validated_data.get("tag", ""),
                list_id=params.get("list"),
                opted_out=_bool_param(params.get("opted_out")),
                queryset=queryset,
            )
        return with_tags(queryset.order_by("-id"))

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str), OpenApiParameter("tag", str), OpenApiParameter("list", int),
            OpenApiParameter("opted_out", bool),
        ]
    )  # fmt: skip
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _input(self, partial: bool) -> dict:
        serializer = ContactInputSerializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        consent = data.pop("consent", None)
        if consent:
            data["consent_basis"] = consent["basis"]
            data["consent_source"] = consent.get("source") or ConsentSource.API
        return data

    @extend_schema(request=ContactInputSerializer, responses={201: ContactSerializer})
    def create(self, request, *args, **kwargs):
        data = self._input(partial=False)
        contact = services.contact_create(org=self.org, actor=request.user, **data)
        contact = with_tags(Contact.objects.filter(org=self.org, pk=contact.pk)).get()
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactInputSerializer, responses=ContactSerializer)
    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = self._input(partial=True)
        data.pop("list_ids", None)
        services.contact_update(org=self.org, actor=request.user, contact=contact, **data)
        contact = with_tags(Contact.objects.filter(org=self.org, pk=contact.pk)).get()
        return Response(ContactSerializer(contact).data)

    def destroy(self, request, *args, **kwargs):
        contact = self.get_object()
        services.contact_delete(org=self.org, actor=request.user, contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactListViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Static lists; ``POST /lists/{id}/contacts`` adds contacts (``{"contact_ids": [...]}``)."""

    queryset = ContactList.objects.all()
    serializer_class = ContactListSerializer

    def safely_get_queryset(self, queryset):
        return queryset.order_by("name")

    @extend_schema(request=ContactListSerializer, responses={201: ContactListSerializer})
    def create(self, request):
        serializer = ContactListSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact_list = services.contact_list_create(
            org=self.org,
            actor=request.user,
            name=serializer.validated_data["name"],
            description=serializer.validated_data.get("description", ""),
        )
        return Response(ContactListSerializer(contact_list).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ListContactsInputSerializer, responses={200: dict})
    @action(detail=True, methods=["post"], url_path="contacts")
    def add_contacts(self, request, pk=None):
        contact_list = self.get_object()
        serializer = ListContactsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = services.contacts_add_to_list(
            org=self.org,
            actor=request.user,
            contact_list=contact_list,
            contact_ids=serializer.validated_data["contact_ids"],
        )
        return Response({"list": contact_list.pk, "added": added})


class ImportViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, TenantViewSet):
    """File imports: ``POST`` (multipart) starts a background job and answers 202 ``{id, status}``."""

    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def safely_get_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")

    @extend_schema(request={"multipart/form-data": ImportCreateSerializer}, responses={202: dict})
    def create(self, request):
        serializer = ImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact_list = None
        if data.get("list"):
            contact_list = get_org_object_or_404(ContactList, self.org, pk=data["list"])
        upload = data["file"]
        path, size = jobs.import_file_store(org=self.org, fileobj=upload, filename=upload.name)
        try:
            job = jobs.import_job_create(
                org=self.org,
                actor=request.user,
                path=path,
                original_filename=upload.name,
                file_size=size,
                consent_basis=data["consent_basis"],
                consent_source=data["consent_source"],
                mapping=data.get("mapping"),
                keep_unknown_columns=data.get("keep_unknown_columns", False),
                contact_list=contact_list,
                list_name=data.get("list_name", ""),
                tags=data.get("tags", []),
            )
        except DjangoValidationError as exc:
            jobs.import_file_discard(path)
            raise _file_refusal_with_code(exc) from exc
        except Exception:
            jobs.import_file_discard(path)
            raise
        return Response({"id": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): bytes})
    @action(detail=True, methods=["get"], url_path="errors")
    def errors(self, request, pk=None):
        return rejected_rows_response(self.get_object(), machine=True)


class OptOutViewSet(mixins.ListModelMixin, TenantViewSet):
    """The suppression list: ``GET`` lists opt-outs, ``POST {phone}`` adds a manual one."""

    queryset = Suppression.objects.all()
    serializer_class = OptOutSerializer

    def safely_get_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")

    @extend_schema(request=OptOutSerializer, responses={201: OptOutSerializer})
    def create(self, request):
        serializer = OptOutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        suppression = services.optout_add(
            org=self.org, actor=request.user, phone=serializer.validated_data["phone"], source="api"
        )
        return Response(OptOutSerializer(suppression).data, status=status.HTTP_201_CREATED)
