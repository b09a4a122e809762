"""Column mapping: which column of the file feeds which contact field.

Guessed from French and English headers so that the usual till export (`Civilité;Prénom;Nom;Portable`)
needs no clicks at all; the wizard shows the guess and lets the owner change it. A mapping is a dict
from header to field name (or None: the column is ignored, or kept as a free attribute if the owner
wants). Each field is fed by at most one column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from .phones import normalise_phone

CONTACT_FIELDS: tuple[str, ...] = (
    "phone",
    "first_name",
    "last_name",
    "email",
    "gender",
    "birth_date",
    "postal_code",
    "city",
    "tags",
)
FIELD_LABELS: dict[str, Any] = {
    "phone": _("Mobile phone"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("Email"),
    "gender": _("Title / gender"),
    "birth_date": _("Birth date"),
    "postal_code": _("Postal code"),
    "city": _("City"),
    "tags": _("Tags"),
}

# Normalised aliases (see normalise_header) and how sure each one is. An exact match wins over a header
# that merely contains an alias ("Téléphone portable du client").
_EXACT: dict[str, dict[str, int]] = {
    "phone": {
        "portable": 100, "mobile": 100, "gsm": 100, "telephone portable": 100, "tel portable": 100,
        "telephone mobile": 100, "tel mobile": 100, "numero portable": 100, "numero de portable": 100,
        "numero mobile": 100, "mobile phone": 100, "mobile number": 100, "cell": 100, "cell phone": 100,
        "cellphone": 100, "msisdn": 100, "numero de mobile": 100, "n portable": 100, "no portable": 100,
        "telephone": 95, "tel": 95, "phone": 95, "phone number": 95, "numero de telephone": 95,
        "n de telephone": 95, "n telephone": 95, "no de telephone": 95, "telephone number": 95, "sms": 90,
        "numero": 85, "number": 80, "num": 80, "n": 60, "no": 60,
    },
    "first_name": {
        "prenom": 100, "first name": 100, "firstname": 100, "given name": 100, "forename": 100,
        "prenoms": 95, "prenom client": 98, "prenom du client": 98,
    },
    "last_name": {
        "nom": 100, "last name": 100, "lastname": 100, "nom de famille": 100, "surname": 100,
        "family name": 100, "nom d usage": 95, "nom client": 98, "nom du client": 98, "nom de naissance": 90,
    },
    "email": {
        "email": 100, "e mail": 100, "mail": 95, "courriel": 100, "adresse email": 100,
        "adresse e mail": 100, "adresse mail": 100, "email address": 100, "e mail address": 100,
        "adresse electronique": 100, "mel": 90,
    },
    "gender": {
        "civilite": 100, "sexe": 100, "genre": 100, "gender": 100, "sex": 100, "title": 90,
        "salutation": 90, "civ": 90,
    },
    "birth_date": {
        "date de naissance": 100, "naissance": 100, "birthday": 100, "birth date": 100, "birthdate": 100,
        "date of birth": 100, "dob": 100, "anniversaire": 95, "ne le": 95, "nee le": 95, "ne e le": 95,
        "date naissance": 100, "ddn": 90,
    },
    "postal_code": {
        "code postal": 100, "cp": 100, "zip": 100, "zip code": 100, "zipcode": 100, "postcode": 100,
        "postal code": 100, "post code": 100, "code post": 90, "codepostal": 100,
    },
    "city": {"ville": 100, "city": 100, "commune": 95, "localite": 95, "town": 95},
    "tags": {
        "tags": 100, "tag": 100, "etiquettes": 100, "etiquette": 100, "labels": 95, "label": 90,
        "mots cles": 90, "groupes": 85, "groupe": 85, "segments": 80, "categories": 80, "categorie": 80,
    },
}  # fmt: skip
# Words that, inside a longer header, identify a field ("Téléphone portable client", "Ville de résidence").
_CONTAINED: dict[str, dict[str, int]] = {
    "phone": {"portable": 70, "mobile": 70, "gsm": 70, "cellulaire": 70, "telephone": 60, "tel": 55,
              "phone": 60},
    "first_name": {"prenom": 70, "first name": 70, "firstname": 70},
    "last_name": {"nom de famille": 70, "last name": 70, "lastname": 70, "nom": 45, "surname": 70},
    "email": {"email": 70, "e mail": 70, "courriel": 70, "mail": 55},
    "gender": {"civilite": 70, "sexe": 65, "genre": 60},
    "birth_date": {"naissance": 70, "birth": 70, "anniversaire": 60},
    "postal_code": {"code postal": 70, "postal": 60, "zip": 60, "postcode": 70},
    "city": {"ville": 65, "city": 65, "commune": 55},
    "tags": {"tags": 65, "etiquettes": 65, "etiquette": 60},
}  # fmt: skip
# A header containing one of these is about something else: "Téléphone fixe", "Nom du magasin".
_NEGATIVE: dict[str, frozenset[str]] = {
    "first_name": frozenset({"nom", "name"}),
    "phone": frozenset({"fixe", "fax", "domicile", "bureau", "home", "landline", "work", "office",
                        "indicatif", "pays", "country", "code", "type", "operateur", "verifie", "valide",
                        "optin", "opt"}),
    "last_name": frozenset({"magasin", "boutique", "societe", "entreprise", "enseigne", "produit", "rue",
                            "voie", "ville", "commune", "article", "vendeur", "company", "shop", "store",
                            "prenom", "utilisateur", "user"}),
    "email": frozenset({"optin", "opt", "consentement", "newsletter", "envoye", "ouvert", "valide",
                        "bounce"}),
    "birth_date": frozenset({"lieu", "place", "ville", "pays"}),
    "city": frozenset({"naissance", "birth"}),
}  # fmt: skip
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_header(header: str) -> str:
    """'  Téléphone  Portable ' -> 'telephone portable'; 'N°' -> 'n'; 'E-mail' -> 'e mail'."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", ascii_only.replace("°", " ").replace("º", " ")).strip()


def score_header(header: str, field: str) -> int:
    """How likely a header feeds a field, 0 (no) to 100 (exact alias)."""
    normal = normalise_header(header)
    if not normal:
        return 0
    exact = _EXACT.get(field, {}).get(normal)
    if exact is not None:
        return exact
    words = normal.split()
    if _NEGATIVE.get(field, frozenset()).intersection(words):
        return 0
    padded = f" {normal} "
    best = 0
    for alias, score in _CONTAINED.get(field, {}).items():
        if f" {alias} " in padded:
            best = max(best, score)
    return best


def guess_mapping(
    headers: Sequence[str], sample_rows: Iterable[Sequence[str]] | None = None, default_region: str = "FR"
) -> dict[str, str | None]:
    """Maps each header to the contact field it most likely holds, or None.

    Pairs are assigned best score first, so each field goes to its best column and each column to at most
    one field ("Portable" beats "Téléphone" for phone; "Nom de famille" beats "Nom client"). When no
    header names the phone column and `sample_rows` are given (headerless files, odd exports), the column
    where most sample values are valid mobile numbers is chosen.
    """
    pairs = sorted(
        (
            (score_header(h, f), -i, -k, h, f)
            for i, h in enumerate(headers)
            for k, f in enumerate(CONTACT_FIELDS)
        ),
        reverse=True,
    )
    mapping: dict[str, str | None] = dict.fromkeys(headers)
    taken: set[str] = set()
    for score, _i, _k, header, field in pairs:
        if score <= 0:
            break
        if field in taken or mapping[header] is not None:
            continue
        mapping[header] = field
        taken.add(field)

    if "phone" not in taken and sample_rows is not None:
        header = _phone_column_from_values(headers, sample_rows, default_region, mapping)
        if header is not None:
            mapping[header] = "phone"
    return mapping


def _phone_column_from_values(
    headers: Sequence[str], rows: Iterable[Sequence[str]], region: str, mapping: dict[str, str | None]
) -> str | None:
    hits = [0] * len(headers)
    filled = [0] * len(headers)
    for row in rows:
        for i, value in enumerate(row[: len(headers)]):
            if value.strip():
                filled[i] += 1
                if normalise_phone(value, region).ok:
                    hits[i] += 1
    best = max(range(len(headers)), key=lambda i: (hits[i], -i), default=None)
    if best is None or hits[best] == 0 or hits[best] * 2 < filled[best]:
        return None
    if mapping[headers[best]] is not None:
        return None  # the column already feeds a named field: do not second-guess its header
    return headers[best]


def validate_mapping(mapping: dict[str, str | None]) -> list[str]:
    """Returns the problems that forbid importing with this mapping (translatable messages), [] if none."""
    errors: list[str] = []
    used: dict[str, list[str]] = {}
    for header, field in mapping.items():
        if field is None or field == "":
            continue
        if field not in CONTACT_FIELDS:
            errors.append(_("Unknown contact field “%(field)s” for column “%(column)s”.") % {
                "field": field, "column": header})  # fmt: skip
            continue
        used.setdefault(field, []).append(header)
    if "phone" not in used:
        errors.append(
            str(_("No column is mapped to the mobile phone number: choose the column that holds it."))
        )

    for field, columns in used.items():
        if len(columns) > 1:
            errors.append(_("“%(field)s” is chosen for several columns (%(columns)s): keep only one.") % {
                "field": FIELD_LABELS[field], "columns": ", ".join(columns)})  # fmt: skip
    return errors


def make_row_mapper(
    headers: Sequence[str], mapping: dict[str, str | None], *, keep_unmapped: bool = False
) -> Callable[[Sequence[str]], tuple[dict[str, str], dict[str, str]]]:
    """Returns a fast function row -> (mapped fields, unmapped columns) for `rows.clean_row`.

    Index lists are computed once: this runs for every row of a million-row file.
    """
    mapped_index = [(i, mapping[h]) for i, h in enumerate(headers) if mapping.get(h)]
    unmapped_index = [(i, h) for i, h in enumerate(headers) if not mapping.get(h)] if keep_unmapped else []

    def apply(row: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        mapped = {field: row[i] for i, field in mapped_index}  # type: ignore[misc]
        unmapped = {header: row[i] for i, header in unmapped_index if row[i]}
        return mapped, unmapped

    return apply
