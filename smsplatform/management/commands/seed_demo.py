"""Loads a demo shop: a user, an organisation, a few hundred realistic French contacts, two lists and a
campaign draft. Safe to run again: it creates only what is missing."""

from __future__ import annotations

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.models import Campaign
from campaigns.services import campaign_create
from contacts.models import Contact
from contacts.services import contact_create, contact_list_get_or_create, contacts_add_to_list
from smsplatform.models import Organisation, User
from smsplatform.onboarding import organisation_create
from smsplatform.services import user_create

DEMO_EMAIL = "demo@smsplatform.local"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - a public demo login, printed by `make run`
DEMO_SLUG = "demo"
CONTACT_COUNT = 300

FIRST_NAMES_F = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Emma",
    "Inès",
    "Sarah",
    "Julie",
    "Élodie",
    "Nathalie",
    "Sophie",
    "Isabelle",
    "Claire",
    "Céline",
    "Aurélie",
    "Marion",
    "Lucie",
    "Océane",
    "Anaïs",
    "Zoé",
]
FIRST_NAMES_M = [
    "Lucas",
    "Hugo",
    "Louis",
    "Nathan",
    "Thomas",
    "Julien",
    "Nicolas",
    "Maxime",
    "Antoine",
    "Pierre",
    "Mathieu",
    "Kévin",
    "Romain",
    "Alexandre",
    "Théo",
    "Mehdi",
    "Yanis",
    "Olivier",
    "Éric",
    "François",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Payet",
]
# (postal code, city, country calling code, start of the 9-digit mobile number there)
PLACES = [
    ("75011", "Paris", "33", "6"),
    ("69003", "Lyon", "33", "6"),
    ("13006", "Marseille", "33", "75"),
    ("33000", "Bordeaux", "33", "6"),
    ("31000", "Toulouse", "33", "75"),
    ("44000", "Nantes", "33", "6"),
    ("59000", "Lille", "33", "6"),
    ("57000", "Metz", "33", "6"),
    ("67000", "Strasbourg", "33", "75"),
    ("97400", "Saint-Denis", "262", "692"),
    ("97110", "Pointe-à-Pitre", "590", "690"),
]
TAGS = ["vip", "fidélité", "nouveau", "coiffure", "soins", "anniversaire"]


class Command(BaseCommand):
    help = "Load (or complete) the demo organisation and print its login."

    def handle(self, *args, **options):
        with transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = user_create(email=DEMO_EMAIL, password=DEMO_PASSWORD, full_name="Démo")
            org = Organisation.objects.filter(slug=DEMO_SLUG).first()
            if org is None:
                org = organisation_create(
                    name="Boutique Démo", owner=user, country="FR", brand="MaBoutique", slug=DEMO_SLUG
                )
        created = self._contacts(org, user)
        self.stdout.write(
            f"Demo organisation ready ({created} contacts added). Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
        )

    def _contacts(self, org: Organisation, user: User) -> int:
        rng = random.Random(20261129)  # noqa: S311 - deterministic demo data, not security
        people = []
        for index in range(CONTACT_COUNT):
            female = rng.random() < 0.6
            postal_code, city, calling_code, start = rng.choice(PLACES)
            width = 9 - len(start)
            phone = f"+{calling_code}{start}{(12345 + index * 7919) % 10**width:0{width}d}"
            people.append(
                {
                    "phone": phone,
                    "first_name": rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M),
                    "last_name": rng.choice(LAST_NAMES),
                    "gender": "F" if female else "M",
                    "postal_code": postal_code,
                    "city": city,
                    "tags": rng.sample(TAGS, k=rng.randint(0, 2)),
                }
            )
        existing = set(Contact.objects.filter(org=org).values_list("phone", flat=True))
        fidelity = contact_list_get_or_create(org=org, actor=user, name="Clients fidèles")
        newsletter = contact_list_get_or_create(org=org, actor=user, name="Newsletter")
        created_ids = []
        for person in people:
            if person["phone"] in existing:
                continue
            contact = contact_create(
                org=org,
                actor=user,
                consent_basis="opt_in",
                consent_source="manual",
                consent_note="Demo data",
                **person,
            )
            created_ids.append(contact.pk)
        if created_ids:
            contacts_add_to_list(org=org, actor=user, contact_list=fidelity, contact_ids=created_ids[::3])
            contacts_add_to_list(
                org=org, actor=user, contact_list=newsletter, contact_ids=created_ids[: len(created_ids) // 2]
            )
        self._campaign_draft(org, user, newsletter)
        return len(created_ids)

    def _campaign_draft(self, org, user, newsletter) -> None:
        if Campaign.objects.filter(org=org).exists():
            return
        campaign_create(
            org=org,
            actor=user,
            name="Soldes d'hiver",
            body="{first_name|Bonjour}, -20% sur tout le magasin ce samedi ! MaBoutique",
            list_ids=[newsletter.pk],
        )
