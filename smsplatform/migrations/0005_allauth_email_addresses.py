"""Every account gets its allauth email address, verified: until now an account existed only once its
address was proven (the sign-up's emailed link, or the invitation's)."""

from django.db import migrations


def record_addresses(apps, schema_editor):
    User = apps.get_model("smsplatform", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    known = set(EmailAddress.objects.values_list("user_id", flat=True))
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user_id=pk, email=email.lower(), primary=True, verified=True)
            for pk, email in User.objects.values_list("pk", "email").iterator()
            if pk not in known
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("smsplatform", "0004_organisation_require_mfa"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(record_addresses, migrations.RunPython.noop)]
