"""Creates an organisation as sign-up does; with --api-key, prints a new API key as the last line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from smsplatform.countries import COUNTRY_CHOICES
from smsplatform.models import User
from smsplatform.onboarding import organisation_create
from smsplatform.services import api_key_create, user_create


class Command(BaseCommand):
    help = "Create an organisation, its owner and 100 credits (and an API key with --api-key)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", required=True)
        parser.add_argument("--country", default="FR", choices=[code for code, _label in COUNTRY_CHOICES])
        parser.add_argument("--api-key", action="store_true", help="also create an API key and print it last")

    def handle(self, *args, name, owner_email, owner_password, country, api_key, **options):
        if not name.strip():
            raise CommandError("The organisation needs a name.")
        try:
            with transaction.atomic():
                owner = User.objects.filter(email__iexact=owner_email.strip()).first()
                if owner is None:
                    owner = user_create(email=owner_email, password=owner_password)
                elif not owner.check_password(owner_password):
                    raise CommandError(f"{owner_email} already exists and the password does not match.")
                org = organisation_create(name=name, owner=owner, country=country)
                key = api_key_create(org=org, actor=owner, name="createorg") if api_key else None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Organisation {org.name} ({org.slug}) created, owner {owner.email}, 100 credits.")
        if key is not None:
            self.stdout.write(key.raw_key)
