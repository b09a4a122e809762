"""Installs the triggers of analytics.counters (message counters, opt-out attribution), then counts the
rows already there, in the same transaction so that nothing is counted twice or missed."""

from django.db import migrations


def install(apps, schema_editor):
    from analytics import counters

    counters.install(schema_editor.connection, backfill=True)


def uninstall(apps, schema_editor):
    from analytics import counters

    counters.uninstall(schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {counters.COUNT_TABLE}")
        cursor.execute(f"DELETE FROM {counters.OPT_OUT_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_links_clicks_counts"),
        ("campaigns", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
