"""Each file of the messy corpus, through the whole engine, ends with the expected counts or error."""

from collections import Counter

import pytest

from contacts.importing.errors import ImportFileError
from contacts.importing.mapping import guess_mapping, make_row_mapper, validate_mapping
from contacts.importing.reader import open_table
from contacts.importing.rows import CleanRow, clean_row

from .corpus import CORPUS, DATA_DIR


def run_engine(path):
    """What the import job does, minus the database: returns (rows, ok, rejected, unique, mapping errors)."""
    with path.open("rb") as fileobj:
        table = open_table(fileobj, path.name)
        mapping = guess_mapping(table.headers)
        errors = validate_mapping(mapping)
        if errors:
            return sum(1 for _ in table.rows), 0, {}, 0, len(errors)
        to_fields = make_row_mapper(table.headers, mapping)
        rows, ok, rejected, phones = 0, 0, Counter(), set()
        for cells in table.rows:
            rows += 1
            mapped, _unmapped = to_fields(cells)
            result = clean_row(mapped, "FR")
            if isinstance(result, CleanRow):
                ok += 1
                phones.add(result.phone_e164)
            else:
                rejected[result.reason] += 1
    return rows, ok, dict(rejected), len(phones), 0


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_file_outcome(corpus, name):
    expected = CORPUS[name][1]
    if expected.file_error:
        with pytest.raises(ImportFileError) as caught:
            run_engine(corpus[name])
        assert caught.value.code == expected.file_error
        assert str(caught.value.message)
        return
    rows, ok, rejected, unique, mapping_errors = run_engine(corpus[name])
    assert (rows, ok, rejected, unique, mapping_errors) == (
        expected.rows,
        expected.ok,
        expected.rejected,
        expected.unique_phones,
        expected.mapping_errors,
    )


@pytest.mark.parametrize("name", sorted(n for n in CORPUS if not n.endswith(".xlsx")))
def test_shipped_corpus_matches_generator(name):
    """tests/data/import is what corpus.py builds (xlsx skipped: zip timestamps differ on every save)."""
    assert (DATA_DIR / name).read_bytes() == CORPUS[name][0]()


def test_shipped_xlsx_reads_like_generated_one(corpus):
    assert run_engine(DATA_DIR / "contacts.xlsx") == run_engine(corpus["contacts.xlsx"])
