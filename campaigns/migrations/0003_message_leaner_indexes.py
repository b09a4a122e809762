"""Fewer index entries per message write (see the comment above ``Message.Meta.indexes``): partial indexes
for the work on one status, one ``(contact, claimed_at)`` index instead of the contact foreign key's and
``(org, contact, claimed_at)``, no index of the org foreign key (every org-led index covers it), none of
``(org, to)`` (the routing index ``(to, -id)`` serves it).

The database side is written by hand, as in 0002: Django would apply the two ``AlterField`` by rebuilding
the table on SQLite, which drops the analytics triggers on it and fails on the one of the inbound table
that names it. Here only indexes are created and dropped, the new ones first so that no query is left
without its index; on PostgreSQL ``CONCURRENTLY`` (the largest, busiest table; hence not atomic).
"""

import django.db.models.deletion
from django.db import migrations, models

NEW_INDEXES = [
    models.Index(condition=models.Q(("status", "deferred")), fields=["deferred_until"], name="message_deferred_due"),
    models.Index(condition=models.Q(("status", "pending")), fields=["queued_at"], name="message_pending_queued"),
    models.Index(condition=models.Q(("status", "sending")), fields=["claimed_at"], name="message_sending_claimed"),
    models.Index(
        condition=models.Q(("provider_id__isnull", False)),
        fields=["gateway", "provider_id"],
        name="message_gateway_provider_set",
    ),
    models.Index(fields=["contact", "claimed_at"], name="message_contact_claimed"),
]  # fmt: skip
OLD_INDEXES = [
    models.Index(fields=["org", "status", "deferred_until"], name="message_org_status_deferred"),
    models.Index(fields=["status", "deferred_until"], name="message_status_deferred"),
    models.Index(fields=["status", "claimed_at"], name="message_status_claimed"),
    models.Index(fields=["gateway", "provider_id"], name="message_gateway_provider"),
    models.Index(fields=["org", "contact", "claimed_at"], name="message_org_contact_claimed"),
    models.Index(fields=["org", "to", "-id"], name="message_org_to"),
]
FK_COLUMNS = ["org_id", "contact_id"]


def _fk_indexes(schema_editor, table: str, column: str) -> list[str]:
    """The single-column index Django created for a foreign key (its name has a hash suffix)."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
    ]


def _concurrently(schema_editor) -> dict:
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def _drop(schema_editor, name: str) -> None:
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {schema_editor.quote_name(name)}")


def forwards(apps, schema_editor):
    message = apps.get_model("campaigns", "Message")
    table = message._meta.db_table
    for index in NEW_INDEXES:
        schema_editor.add_index(message, index, **_concurrently(schema_editor))
    for index in OLD_INDEXES:
        _drop(schema_editor, index.name)
    for column in FK_COLUMNS:
        for name in _fk_indexes(schema_editor, table, column):
            _drop(schema_editor, name)


def backwards(apps, schema_editor):
    message = apps.get_model("campaigns", "Message")
    table = message._meta.db_table
    quote = schema_editor.quote_name
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for column in FK_COLUMNS:
        name = quote(f"{table}_{column}")
        schema_editor.execute(
            f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {quote(table)} ({quote(column)})"
        )
    for index in OLD_INDEXES:
        schema_editor.add_index(message, index, **_concurrently(schema_editor))
    for index in NEW_INDEXES:
        _drop(schema_editor, index.name)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0002_message_campaign_id_index"),
        ("contacts", "0001_initial"),
        ("smsplatform", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *(migrations.RemoveIndex(model_name="message", name=index.name) for index in OLD_INDEXES),
                migrations.AlterField(
                    model_name="message",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="sms_messages",
                        to="contacts.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="org",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sms_messages",
                        to="smsplatform.organisation",
                    ),
                ),
                *(migrations.AddIndex(model_name="message", index=index) for index in NEW_INDEXES),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
