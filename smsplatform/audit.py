"""The audit log's one writer.

Every app records what its members did here, so this module imports nothing but the models: keeping it
apart from smsplatform.services lets billing, compliance and the rest audit without depending on the
organisation and sign-up services (which compose them)."""

from __future__ import annotations

from typing import Any

from .models import AuditEntry, Organisation, User


def audit_record(
    *, org: Organisation | None, actor, action: str, target: Any = None, data: dict | None = None
) -> AuditEntry:
    """Keeps who did what, where, on which object: owners must be able to answer "who sent this?"."""
    actor_user = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        org=org,
        actor=actor_user,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        target_type=target._meta.label_lower if target is not None and hasattr(target, "_meta") else "",
        target_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        data=data or {},
    )
