"""The operator gives or takes credits from the command line, as the admin's "Give or take credits" does:
through ``credits_adjust``, with a mandatory reason, audited, in the customer's ledger.

    python manage.py credits grant boulangerie-martin 500 --reason "Geste commercial, panne du 3 mai"
    python manage.py credits remove boulangerie-martin 200 --reason "Crédits offerts par erreur"
"""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing.errors import InsufficientCredits
from billing.selectors import credits_balance
from billing.services import credits_adjust
from smsplatform.models import Organisation, User


class Command(BaseCommand):
    help = "Give (grant) or take (remove) credits of an organisation, with a reason; audited."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["grant", "remove"])
        parser.add_argument("organisation", help="the organisation's slug")
        parser.add_argument("amount", type=int, help="a positive number of credits")
        parser.add_argument("--reason", required=True, help="why: the customer will ask")
        parser.add_argument(
            "--operator",
            help="email of the staff user acting (recorded in the audit log); default: the shell user",
        )

    def handle(self, *args, action, organisation, amount, reason, operator, **options):
        org = Organisation.objects.filter(slug=organisation).first()
        if org is None:
            raise CommandError(f"No organisation with the slug {organisation!r}.")
        if amount <= 0:
            raise CommandError("The amount must be a positive number of credits.")
        actor = self._actor(operator)
        try:
            credits_adjust(
                org=org, actor=actor, amount=amount if action == "grant" else -amount, reason=reason
            )
        except InsufficientCredits as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        sign = "+" if action == "grant" else "-"
        self.stdout.write(
            f"{sign}{amount} credits for {org.name} ({org.slug}); balance {credits_balance(org)}."
        )

    def _actor(self, operator: str | None):
        if not operator:
            return f"operator {getpass.getuser()} (manage.py credits)"
        user = User.objects.filter(email__iexact=operator, is_staff=True).first()
        if user is None:
            raise CommandError(f"{operator} is not a staff user.")
        return user
