"""django-import-export's two variants of bench/import_contacts.py, (b) and (c), and the reading of the
benchmark's file that (b), (c) and (d) share; imported by that script, nothing to run on its own."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

MAPPED = ["gender", "first_name", "last_name", "phone", "email", "postal_code", "city", "birth_date"]


# --- reading the file the same way for (b), (c) and (d) ------------------------------------------------


def read_rows(path: Path, limit: int | None = None):
    """(cells) of the file through the engine's reader, in the mapped field order."""
    from contacts.importing.reader import open_table

    with path.open("rb") as f:
        table = open_table(f, path.name)
        for n, cells in enumerate(table.rows):
            if limit is not None and n >= limit:
                return
            yield cells


def reason_of_phone(error: str) -> str:
    from contacts.importing.rows import _PHONE_TO_ROW_ERROR

    return _PHONE_TO_ROW_ERROR.get(error, "invalid_phone")


# --- (b) and (c) django-import-export -------------------------------------------------------------------


def bulk_resource_class():
    from django.core.exceptions import ValidationError
    from import_export import resources
    from import_export.instance_loaders import CachedInstanceLoader

    from contacts import services
    from contacts.importing.rows import RowError, clean_row
    from contacts.models import Contact

    fields = ("phone", "first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city")

    class BulkContactResource(resources.ModelResource):
        """The best django-import-export can do: numbers normalised and the file deduplicated in
        ``before_import`` (so that the cached loader finds the existing contacts), bulk writes."""

        class Meta:
            model = Contact
            fields = ("phone", "first_name", "last_name", "email", "gender", "birth_date", "postal_code",
                      "city")  # fmt: skip
            import_id_fields = ("phone",)
            use_bulk = True
            skip_unchanged = True
            skip_html_diff = True
            batch_size = 1000
            instance_loader_class = CachedInstanceLoader

        def __init__(self, org, **kwargs):
            super().__init__(**kwargs)
            self.org = org
            self.seen: set[str] = set()
            self.duplicates = 0
            self.contexts = services.ContextCache()

        def get_queryset(self):
            return Contact.objects.filter(org=self.org)

        def before_import(self, dataset, **kwargs):
            import tablib

            cleaned = tablib.Dataset(headers=[*fields, "_error"])
            for values in dataset:
                result = clean_row(dict(zip(dataset.headers, values, strict=True)), "FR")
                if isinstance(result, RowError):
                    cleaned.append(["", "", "", "", "", "", "", "", result.reason])
                    continue
                if result.phone_e164 in self.seen:
                    self.duplicates += 1
                    continue
                self.seen.add(result.phone_e164)
                cleaned.append([result.phone_e164, result.first_name, result.last_name, result.email,
                                result.gender, result.birth_date, result.postal_code, result.city, ""])  # fmt: skip
            dataset.dict = cleaned.dict  # in place: import_data iterates the caller's dataset
            dataset.headers = cleaned.headers

        def before_import_row(self, row, **kwargs):
            if row.get("_error"):
                raise ValidationError(row["_error"], code=row["_error"])

        def import_instance(self, instance, row, **kwargs):
            # Empty cells never erase data, as in our import.
            for name in fields:
                if row.get(name) in ("", None) and getattr(instance, name, None):
                    row[name] = getattr(instance, name)
            super().import_instance(instance, row, **kwargs)
            instance.org_id = self.org.pk

        def before_save_instance(self, instance, row, **kwargs):
            instance.region, instance.timezone, instance.calendar = self.contexts.get(
                instance.phone, instance.postal_code
            )
            if instance.pk is None:
                instance.consent_basis, instance.consent_source = "opt_in", "import"

    return BulkContactResource


def default_resource_class():
    from django.core.exceptions import ValidationError

    from contacts.importing.rows import RowError, clean_row
    from contacts.resources import ContactResource

    class DefaultContactResource(ContactResource):
        """The project's admin resource with django-import-export's defaults (row by row, one query per
        row to find the contact, no skipping). The number is cleaned by the engine so that rejections
        carry the same reasons."""

        class Meta(ContactResource.Meta):
            skip_unchanged = False
            use_bulk = False

        def before_import_row(self, row, **kwargs):
            result = clean_row(dict(row), "FR")
            if isinstance(result, RowError):
                raise ValidationError(result.reason, code=result.reason)
            row["phone"] = result.phone_e164
            for name in ("first_name", "last_name", "email", "gender", "postal_code", "city"):
                row[name] = getattr(result, name)
            row["birth_date"] = result.birth_date

    return DefaultContactResource


def _dataset(cells_iter, headers):
    import tablib

    data = tablib.Dataset(headers=headers)
    for cells in cells_iter:
        data.append(cells)
    return data


def _ie_reasons(result) -> Counter:
    reasons: Counter = Counter()
    for invalid in result.invalid_rows:
        error = invalid.error
        codes = [getattr(e, "code", None) for e in getattr(error, "error_list", [error])]
        reasons[codes[0] or "invalid"] += 1
    return reasons


def variant_b(org, path: Path, batch_rows: int = 100_000) -> dict:
    from itertools import islice

    resource_class = bulk_resource_class()
    res = resource_class(org)
    totals: Counter = Counter()
    reasons: Counter = Counter()
    errors = 0
    start = time.perf_counter()
    stream = read_rows(path)
    while True:
        block = list(islice(stream, batch_rows))
        if not block:
            break
        data = _dataset(block, MAPPED)
        del block
        result = res.import_data(data, dry_run=False, raise_errors=False, use_transactions=True)
        for key in ("new", "update", "skip", "invalid", "error"):
            totals[key] += result.totals.get(key, 0)
        reasons += _ie_reasons(result)
        errors += len(result.base_errors) + len(result.row_errors())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "created": totals["new"],
        "updated": totals["update"] + totals["skip"],  # skip_unchanged: an existing, identical contact
        "invalid": totals["invalid"],
        "duplicates": res.duplicates,
        "reasons": dict(reasons),
        "errors": errors,
    }


def variant_c(org, path: Path, sample: int) -> dict:
    resource_class = default_resource_class()
    res = resource_class(org=org)
    start = time.perf_counter()
    data = _dataset(read_rows(path, sample), MAPPED)
    result = res.import_data(data, dry_run=False, raise_errors=False, use_transactions=True)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": sample,
        "totals": dict(result.totals),
        "reasons": dict(_ie_reasons(result)),
    }
