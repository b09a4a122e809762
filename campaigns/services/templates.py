"""Saved message bodies, reused by later campaigns."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smsplatform.audit import audit_record
from smsplatform.models import Organisation

from ..merge_fields import merge_field_errors
from ..models import Template


def _template_clean(org: Organisation, name: str, body: str) -> tuple[str, str]:
    name, body = (name or "").strip(), (body or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the template a name.")]
    if not body:
        errors["body"] = [_("The message is empty.")]
    else:
        errors.update(merge_field_errors(org, body))
    if errors:
        raise ValidationError(errors)
    return name[:100], body


def template_create(*, org: Organisation, actor: Any, name: str, body: str) -> Template:
    """Saves a message body to reuse it in later campaigns."""
    name, body = _template_clean(org, name, body)
    try:
        with transaction.atomic():
            template = Template.objects.create(
                org=org, name=name, body=body, created_by=actor if getattr(actor, "pk", None) else None
            )
            audit_record(
                org=org, actor=actor, action="template.created", target=template, data={"name": name}
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A template with this name already exists.")]})
    return template


def template_update(*, org: Organisation, actor: Any, template: Template, name: str, body: str) -> Template:
    """Changes a saved template (campaigns made from it keep their own copy of the body)."""
    name, body = _template_clean(org, name, body)
    try:
        with transaction.atomic():
            Template.objects.filter(org=org, pk=template.pk).update(
                name=name, body=body, updated_at=timezone.now()
            )
            audit_record(
                org=org, actor=actor, action="template.updated", target=template, data={"name": name}
            )
    except IntegrityError:
        raise ValidationError({"name": [_("A template with this name already exists.")]})
    template.name, template.body = name, body
    return template


@transaction.atomic
def template_delete(*, org: Organisation, actor: Any, template: Template) -> None:
    """Deletes a saved template."""
    audit_record(
        org=org, actor=actor, action="template.deleted", target=template, data={"name": template.name}
    )
    Template.objects.filter(org=org, pk=template.pk).delete()
