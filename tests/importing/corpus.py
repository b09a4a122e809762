"""The corpus of messy import files, with the outcome each one must have.

Single source of truth for the files shipped in tests/data/import/ (regenerate them with
`python -m tests.importing.corpus`) and for the copies the tests build in tmp_path. The expectations are
written by hand from what the file contains, not computed by the code under test: the import job's tests
can reuse them (rows read, rows accepted, rejections by reason, distinct numbers, or a file error code).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "import"


@dataclass(frozen=True)
class Expected:
    rows: int = 0
    ok: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unique_phones: int = 0
    file_error: str | None = None
    mapping_errors: int = 0


def _csv(lines: list[str], *, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return newline.join(lines).encode(encoding) + newline.encode(encoding)


def cp1252_semicolon() -> bytes:
    return _csv(
        [
            "Civilité;Prénom;Nom;Portable;Code postal;Ville;Date de naissance;E-mail",
            "Mme;Hélène;Lefèvre;06 12 34 56 78;1000;Bourg-en-Bresse;17/05/1985;helene@example.fr",
            "M.;Noël;Gaëtan;+33 6 23 45 67 89;75011;Paris;1990-12-01;noel@exemple",
            "Mlle;Zoé;Françoise;0033 7 51 23 45 67;69003;Lyon;31/02/1990;zoe@example.com",
            "M;Jérôme;Dupré;01 45 67 89 01;13001;Marseille;;",
        ],
        encoding="cp1252",
    )


def utf8_bom_comma() -> bytes:
    return b"\xef\xbb\xbf" + _csv(
        [
            "First name,Last name,Mobile,Email,Tags",
            'Anna,Smith,06.12.34.56.79,anna@example.com,"vip, noël"',
            'Bob,"Jones, Jr",+33612345680,bob@example.com,client|2024',
        ]
    )


def quoted_newlines() -> bytes:
    return _csv(
        [
            "Prénom;Nom;Téléphone;Notes",
            'Luc;Martin;0612345681;"Aime le rouge\r\net le vert"',
            '"Marie\r\nClaire";Durand;0612345682;"Note avec ""guillemets"" et ; point-virgule"',
            "Paul;Petit;0612345683;",
        ]
    )


def blank_lines() -> bytes:
    lines = ["Prénom;Nom;Portable", "", "Jean;Valjean;0612345684", ";;", "   "]
    return _csv([*lines, "Cosette;Fauchelevent;0612345685", ";;;", ""])


def missing_phone_column() -> bytes:
    return _csv(["Prénom;Nom;Ville", "Jean;Dupont;Paris", "Marie;Curie;Lyon"])


def duplicates() -> bytes:
    return _csv(
        [
            "Prénom;Portable",
            "Jean;06 12 34 56 86",
            "Jean;06 12 34 56 86",
            "Jeanne;+33 6 12 34 56 86",
            "J;0033612345686",
            "Autre;0612345687",
        ]
    )


def excel_damaged() -> bytes:
    return _csv(
        [
            "Nom;Portable",
            "A;6,12345688E+08",
            "B;612345689",
            "C;612345690.0",
            "D;3,36123E+11",
            'E;="0612345691"',
        ]
    )


def dom() -> bytes:
    return _csv(
        [
            "Nom;Portable;Attendu",
            "Mayotte;0639 40 12 34;YT",
            "Réunion;0692 12 34 56;RE",
            "Réunion;0693 12 34 56;RE",
            "Guadeloupe;0690 12 34 56;GP",
            "Guadeloupe;0691 22 34 56;GP",
            "Martinique;0696 12 34 56;MQ",
            "Martinique;0697 12 34 56;MQ",
            "Guyane;0694 12 34 56;GF",
            "Mayotte intl;+262 639 40 12 35;YT",
            "Réunion fixe;0262 12 34 56;",
        ]
    )


def foreign() -> bytes:
    return _csv(
        [
            "Name;Phone",
            "Belge;+32 470 12 34 56",
            "UK;+44 7400 123456",
            "UK 00;0044 7400 123457",
            "US;+1 201 555 0123",
            "Allemand;+49 151 23456789",
            "Suisse;+41 79 123 45 67",
            "UK fixe;+44 20 7946 0958",
        ]
    )


def landlines() -> bytes:
    return _csv(
        [
            "Prénom;Téléphone",
            "Fixe Paris;01 45 67 89 01",
            "Fixe Lyon;04 78 12 34 56",
            "Box;09 39 12 34 56",
            "Numéro vert;0800 12 34 56",
            "Mobile;06 12 34 56 92",
        ]
    )


def invalid_phones() -> bytes:
    return _csv(["Prénom;Portable", "A;abc", "B;0612", "C;", "D;N/A", "E;+999 1234567", "F;0712345678",
                 "G;06 12 34 56 97"])  # fmt: skip


def unicode_text() -> bytes:
    # Excel's "Texte Unicode" export: UTF-16 little-endian with a BOM, tab-separated.
    return "\ufeffPrénom\tPortable\r\nÉlodie\t0612345693\r\n".encode("utf-16-le")


def header_only() -> bytes:
    return _csv(["Prénom;Nom;Portable"])


def empty() -> bytes:
    return b""


def binary() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


def contacts_xlsx() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Prénom", "Nom", "Portable", "Date de naissance", "Code postal"])
    sheet.append(["Ana", "Lopez", 612345694, datetime(1980, 3, 4), 1000])
    sheet.append(["Ben", "Roy", 612345695.0, "04/03/1980", "75001"])
    sheet.append(["Cléo", "Roux", "+33 6 12 34 56 96", None, None])
    sheet.append([None, None, None, None, None])
    sheet.append(["Dan", "Faure", "01 45 67 89 01", None, 13001])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


CORPUS: dict[str, tuple[Callable[[], bytes], Expected]] = {
    "cp1252_semicolon.csv": (
        cp1252_semicolon,
        Expected(rows=4, ok=3, rejected={"not_mobile": 1}, unique_phones=3),
    ),
    "utf8_bom_comma.csv": (utf8_bom_comma, Expected(rows=2, ok=2, unique_phones=2)),
    "quoted_newlines.csv": (quoted_newlines, Expected(rows=3, ok=3, unique_phones=3)),
    "blank_lines.csv": (blank_lines, Expected(rows=2, ok=2, unique_phones=2)),
    "missing_phone_column.csv": (missing_phone_column, Expected(rows=2, mapping_errors=1)),
    "duplicates.csv": (duplicates, Expected(rows=5, ok=5, unique_phones=2)),
    "excel_damaged.csv": (
        excel_damaged,
        Expected(rows=5, ok=4, rejected={"excel_damaged": 1}, unique_phones=4),
    ),
    "dom.csv": (dom, Expected(rows=10, ok=9, rejected={"not_mobile": 1}, unique_phones=9)),
    "foreign.csv": (foreign, Expected(rows=7, ok=6, rejected={"not_mobile": 1}, unique_phones=6)),
    "landlines.csv": (landlines, Expected(rows=5, ok=1, rejected={"not_mobile": 4}, unique_phones=1)),
    "invalid_phones.csv": (
        invalid_phones,
        Expected(
            rows=7,
            ok=1,
            rejected={
                "invalid_phone": 2,
                "phone_too_short": 1,
                "missing_phone": 2,
                "invalid_country_code": 1,
            },
            unique_phones=1,
        ),
    ),
    "unicode_text.txt": (unicode_text, Expected(rows=1, ok=1, unique_phones=1)),
    "header_only.csv": (header_only, Expected(rows=0)),
    "empty.csv": (empty, Expected(file_error="empty_file")),
    "binary.csv": (binary, Expected(file_error="binary_file")),
    "contacts.xlsx": (contacts_xlsx, Expected(rows=4, ok=3, rejected={"not_mobile": 1}, unique_phones=3)),
}


def write_corpus(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (build, _expected) in CORPUS.items():
        path = directory / name
        path.write_bytes(build())
        paths[name] = path
    return paths


def main(argv: list[str]) -> None:
    directory = Path(argv[0]) if argv else DATA_DIR
    write_corpus(directory)
    expected = {name: asdict(exp) for name, (_build, exp) in CORPUS.items()}
    (directory / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(CORPUS)} files to {directory}")


if __name__ == "__main__":
    main(sys.argv[1:])
