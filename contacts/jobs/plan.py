"""The engine's vocabulary on the job's side: the mapping of a file's columns, and a cleaned row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .. import services
from ..importing import mapping
from ..importing import rows as rowmod
from ..models import Contact

ATTRIBUTE = "attribute"  # mapping value: keep this column as a free attribute
IGNORE = ""  # mapping value: ignore this column
MERGE_FIELDS = ("first_name", "last_name", "email", "gender", "birth_date", "postal_code", "city")


def contact_fields() -> list[tuple[str, str]]:
    """(field, label) pairs a column can be mapped to, in the engine's order."""
    return [(name, str(mapping.FIELD_LABELS.get(name, name))) for name in mapping.CONTACT_FIELDS]


def guess_mapping(
    headers: list[str],
    *,
    keep_unknown: bool = False,
    sample_rows: list[list[str]] | None = None,
    region: str = "FR",
) -> dict[str, str]:
    """The engine's guess, in the job's form ``{header: field | "attribute" | ""}``."""
    guessed = mapping.guess_mapping(headers, sample_rows, region)
    out = {}
    for header in headers:
        value = guessed.get(header)
        out.setdefault(header, value or (ATTRIBUTE if keep_unknown else IGNORE))
    return out


def mapping_clean(
    headers: list[str],
    mapping: dict[str, Any] | None,
    *,
    keep_unknown: bool,
    sample_rows: list[list[str]] | None = None,
    region: str = "FR",
) -> dict[str, str]:
    """Validates a mapping sent by the wizard or the API against the file's headers. Missing headers are
    guessed; a field may be used by one column only; the phone must be mapped."""
    valid_fields = {name for name, _label in contact_fields()}
    guessed = guess_mapping(headers, keep_unknown=keep_unknown, sample_rows=sample_rows, region=region)
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": [_("The mapping must be an object: column name -> field.")]})
    unknown_headers = set(mapping) - set(headers)
    if unknown_headers:
        raise ValidationError(
            {
                "mapping": [
                    _("These columns are not in the file: %(names)s.")
                    % {"names": ", ".join(sorted(unknown_headers))}
                ]
            }
        )
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    chosen = {str(v) for v in mapping.values() if v}
    for header in headers:
        if header in mapping:
            value = mapping[header]
        else:
            value = guessed.get(header, IGNORE)
            if value in chosen and value != ATTRIBUTE:
                value = ATTRIBUTE if keep_unknown else IGNORE
        value = "" if value is None else str(value)
        if value in (IGNORE, ATTRIBUTE):
            out[header] = value
            continue
        if value not in valid_fields:
            raise ValidationError({"mapping": [_("Unknown field: %(name)s.") % {"name": value}]})
        if value in used:
            raise ValidationError(
                {
                    "mapping": [
                        _("The columns %(a)s and %(b)s are both mapped to %(field)s.")
                        % {"a": used[value], "b": header, "field": value}
                    ]
                }
            )
        used[value] = header
        out[header] = value
    if "phone" not in used:
        raise ValidationError({"mapping": [_("Choose the column that holds the mobile numbers.")]})
    return out


@dataclass
class ColumnPlan:
    """Where each field of a row comes from: column indexes for fields, and attribute columns."""

    fields: list[tuple[int, str]]
    attributes: list[tuple[int, str]]

    @classmethod
    def build(cls, headers: list[str], mapping: dict[str, str]) -> ColumnPlan:
        fields, attributes, seen = [], [], set()
        for index, header in enumerate(headers):
            if header in seen:
                continue
            seen.add(header)
            value = mapping.get(header, IGNORE)
            if value == ATTRIBUTE:
                key = services.attribute_key_clean(header)
                if key:
                    attributes.append((index, key))
            elif value:
                fields.append((index, value))
        return cls(fields=fields, attributes=attributes)

    def mapped(self, cells: list[str]) -> dict[str, str]:
        return {name: cells[i] if i < len(cells) else "" for i, name in self.fields}

    def attrs(self, cells: list[str]) -> dict[str, str]:
        out = {}
        for i, key in self.attributes:
            value = cells[i].strip() if i < len(cells) else ""
            if value:
                out[key] = value
        return out


@dataclass
class RowOutcome:
    """A cleaned row: ``values`` (field -> python value) or an ``error`` code and message."""

    number: int
    cells: list[str]
    values: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    error: str = ""
    message: str = ""

    @property
    def phone(self) -> str:
        return (self.values or {}).get("phone", "")


def _clean(plan: ColumnPlan, number: int, cells: list[str], default_region: str) -> RowOutcome:
    if not any(c.strip() for c in cells):
        return RowOutcome(number, cells, error="blank", message=_("Empty row"))
    result = rowmod.clean_row(plan.mapped(cells), default_region)
    if isinstance(result, rowmod.RowError):
        code = getattr(result, "reason", None) or getattr(result, "code", "invalid")
        message = str(getattr(result, "message", "") or code)
        return RowOutcome(number, cells, error=code, message=message)
    values = _values_of(result)
    tags = services.tags_clean(values.pop("tags", None))
    attrs = plan.attrs(cells)
    extra = values.pop("attributes", None)
    if isinstance(extra, dict):
        attrs = {
            **{services.attribute_key_clean(k): v for k, v in extra.items() if v not in (None, "")},
            **attrs,
        }
    return RowOutcome(number, cells, values=values, tags=tags, attributes=attrs)


def _values_of(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        data = dict(result)
    elif hasattr(result, "_asdict"):
        data = result._asdict()
    elif hasattr(result, "__dataclass_fields__"):
        data = {name: getattr(result, name) for name in result.__dataclass_fields__}
    else:
        data = dict(vars(result))
    if "phone" not in data:
        data["phone"] = data.get("e164") or data.get("phone_e164") or ""
    out = {k: v for k, v in data.items() if k in (*MERGE_FIELDS, "phone", "tags", "attributes")}
    for name in MERGE_FIELDS:
        value = out.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            out.pop(name, None)
        elif isinstance(value, str):
            out[name] = value.strip()[: Contact._meta.get_field(name).max_length]
    return out
