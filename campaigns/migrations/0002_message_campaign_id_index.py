"""The index of a campaign's messages newest first, ``(campaign_id, id DESC)``: the report's per-recipient
table reads its first page from it instead of walking the primary key backwards past every other
campaign's rows. It replaces the single-column index of the foreign key, which every composite index on
``campaign_id`` already covers, so the write path keeps the same number of indexes.

On PostgreSQL both steps run ``CONCURRENTLY`` (the message table is the largest and the busiest; the
migration is therefore not atomic), the new index first so that a campaign's rows are never unindexed.
"""

import django.db.models.deletion
from django.db import migrations, models

NEW_INDEX = models.Index(fields=["campaign", "-id"], name="message_campaign_id")


def _fk_indexes(schema_editor, table: str) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == ["campaign_id"]
    ]


def forwards(apps, schema_editor):
    message = apps.get_model("campaigns", "Message")
    table = message._meta.db_table
    quote = schema_editor.quote_name
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(NEW_INDEX.name)} ON {quote(table)} "
            '("campaign_id", "id" DESC)'
        )
        for name in _fk_indexes(schema_editor, table):
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")
        return
    schema_editor.add_index(message, NEW_INDEX)
    for name in _fk_indexes(schema_editor, table):
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def backwards(apps, schema_editor):
    message = apps.get_model("campaigns", "Message")
    table = message._meta.db_table
    quote = schema_editor.quote_name
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    old = quote(f"{table}_campaign_id")
    schema_editor.execute(f'CREATE INDEX{concurrently} IF NOT EXISTS {old} ON {quote(table)} ("campaign_id")')
    schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {quote(NEW_INDEX.name)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0001_initial"),
        ("contacts", "0001_initial"),
        ("smsplatform", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="campaigns.campaign",
                    ),
                ),
                migrations.AddIndex(model_name="message", index=NEW_INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
