"""django-import-export resource of contacts: the admin's import and export, and the dashboard's CSV
export (streamed, UTF-8 with BOM, ``;``, formula injection neutralised)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet
from import_export import fields, resources

from compliance.selectors import suppressed_numbers

from . import services
from .importing.csvsafe import spreadsheet_cell
from .models import Contact
from .selectors import tag_names, with_tags

EXPORT_FIELDS = (
    "phone", "first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city", "tags",
    "consent_basis", "consent_source", "consent_collected_at", "opted_out", "created_at",
)  # fmt: skip


class ContactResource(resources.ModelResource):
    """Contacts of ONE organisation: ``ContactResource(org=org)``. Imports normalise the number with the
    organisation's country, compute the recipient context and never re-subscribe an opted-out number
    (the flag is set from the suppression list, whatever the file says)."""

    tags = fields.Field(attribute="tags", column_name="tags")

    class Meta:
        model = Contact
        fields = EXPORT_FIELDS
        export_order = EXPORT_FIELDS
        import_id_fields = ("phone",)
        skip_unchanged = True
        use_bulk = False

    def __init__(self, org=None, **kwargs):
        super().__init__(**kwargs)
        self.org = org

    def get_queryset(self):
        return Contact.objects.filter(org=self.org)

    def dehydrate_tags(self, contact: Contact) -> str:
        return ", ".join(tag_names(contact))

    def before_import_row(self, row, **kwargs):
        if "phone" in row:
            row["phone"] = services.phone_normalise(org=self.org, raw=row.get("phone") or "")

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        instance.org = self.org

    def save_instance(self, instance, is_create, row, **kwargs):
        instance.region, instance.timezone, instance.calendar = services.recipient_context_tuple(
            instance.phone, instance.postal_code
        )
        instance.opted_out = bool(suppressed_numbers(self.org, [instance.phone]))
        instance.full_clean(exclude=["org", "attributes"], validate_unique=False)
        super().save_instance(instance, is_create, row, **kwargs)

    def save_m2m(self, instance, row, **kwargs):
        names = services.tags_clean(row.get("tags") or "")
        if names and not kwargs.get("dry_run"):
            services.contacts_tag(org=self.org, actor=None, contact_ids=[instance.pk], tags=names)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "tags":
            return
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)


def export_csv_lines(queryset: QuerySet[Contact], chunk: int = 2000) -> Iterator[bytes]:
    """The rows of ``queryset`` as CSV for Excel, streamed in chunks (tags prefetched per chunk)."""
    resource = ContactResource()
    headers = [resource.fields[name].column_name for name in EXPORT_FIELDS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(headers)
    yield b"\xef\xbb\xbf" + flush()
    for index, contact in enumerate(with_tags(queryset).iterator(chunk_size=chunk), 1):
        writer.writerow(
            [
                spreadsheet_cell(resource.export_field(resource.fields[name], contact))
                for name in EXPORT_FIELDS
            ]
        )
        if index % 500 == 0:
            yield flush()
    yield flush()
