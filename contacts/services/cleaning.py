"""Cleaning of the values people and clients send: tags, free attributes, contact fields, consent, and
the actor recorded with a write."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.models import User

from ..models import CONTACT_FIELDS, ConsentBasis, ConsentSource, Contact, Gender

EDITABLE_FIELDS = CONTACT_FIELDS
TAG_MAX_LENGTH = 50


def tags_clean(tags: Iterable[str] | str | None) -> list[str]:
    """Tag names, trimmed, without duplicates (case-insensitive), in their first spelling."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = re.split(r"[,;|]", tags)
    seen: dict[str, str] = {}
    for tag in tags:
        name = " ".join(str(tag or "").split())[:TAG_MAX_LENGTH]
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def attribute_key_clean(key: str) -> str:
    """A free attribute's key: lower-case letters, digits and single underscores (a JSON key that is
    safe in a database lookup); ``Code fidélité`` becomes ``code_fidelite``."""
    import unicodedata

    text = unicodedata.normalize("NFKD", str(key or "")).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    text = re.sub(r"_+", "_", text)[:40].strip("_")
    return text


def attributes_clean(attributes: dict | None) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise ValidationError({"attributes": [_("Attributes must be an object of names and values.")]})
    cleaned: dict[str, Any] = {}
    for key, value in attributes.items():
        clean_key = attribute_key_clean(key)
        if not clean_key:
            raise ValidationError({"attributes": [_("An attribute needs a name.")]})
        if isinstance(value, (dict, list)):
            raise ValidationError({"attributes": [_("Attribute values must be text, numbers or booleans.")]})
        cleaned[clean_key] = value
    return cleaned


def _fields_clean(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"Not a contact field: {name}")
        if name == "birth_date":
            if value in (None, ""):
                out[name] = None
            elif isinstance(value, date):
                if value > timezone.localdate() or value.year < 1900:
                    errors[name] = [_("Enter a plausible birth date.")]
                out[name] = value
            else:
                errors[name] = [_("Enter a valid date.")]
            continue
        value = "" if value is None else str(value).strip()
        if name == "email" and value:
            try:
                validate_email(value)
            except ValidationError:
                errors[name] = [_("Enter a valid email address.")]
            value = value.lower()
        if name == "gender" and value and value not in Gender.values:
            errors[name] = [_("Unknown gender.")]
        max_length = Contact._meta.get_field(name).max_length
        out[name] = value[:max_length]
    if errors:
        raise ValidationError(errors)
    return out


def _consent_clean(basis: str, source: str) -> None:
    errors = {}
    if basis not in ConsentBasis.values:
        errors["consent_basis"] = [_("Unknown consent basis.")]
    if source and source not in ConsentSource.values:
        errors["consent_source"] = [_("Unknown consent source.")]
    if errors:
        raise ValidationError(errors)


def _actor_label(actor: Any) -> str:
    return str(actor)[:200] if actor is not None else "system"


def _actor_user(actor: Any):
    return actor if isinstance(actor, User) else None


@contextmanager
def unique_name_atomic(message: str) -> Iterator[None]:
    """A transaction whose unique-name conflict becomes ``ValidationError({"name": [message]})``: two
    lists or segments of an organisation cannot share a name, and the database is the judge of that."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise ValidationError({"name": [message]})
