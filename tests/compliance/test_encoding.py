import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.encoding import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    analyse,
    count_segments,
    smart_encode,
    ucs2_report,
)

EMOJI = "\U0001f600"

# docs/compliance.md, "Encoding and segments": checked against Twilio's segment calculator.
SPEC_VECTORS = [
    ("a" * 160, GSM7, 1),
    ("a" * 161, GSM7, 2),
    ("a" * 306, GSM7, 2),
    ("a" * 307, GSM7, 3),
    ("€" * 80, GSM7, 1),
    ("€" * 81, GSM7, 2),
    ("a" * 159 + "€", GSM7, 2),
    ("a" * 152 + "€" + "a" * 152, GSM7, 3),
    ("ê" * 70, UCS2, 1),
    ("ê" * 71, UCS2, 2),
    ("ê" * 134, UCS2, 2),
    ("ê" * 135, UCS2, 3),
    (EMOJI + "a" * 68, UCS2, 1),
    (EMOJI + "a" * 69, UCS2, 2),
    ("a" * 66 + EMOJI + "a" * 66, UCS2, 3),
    ("Reçu", UCS2, 1),
    ("REÇU", GSM7, 1),
    ("a" * 1530, GSM7, 10),
    ("a" * 1531, GSM7, 11),
]

# Derived from 3GPP TS 23.038 / 23.040.
DERIVED_VECTORS = [
    ("", GSM7, 0),
    ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", GSM7, 1),
    ("[" * 80, GSM7, 1),  # 160 septets: every extension character is 2
    ("[" * 81, GSM7, 2),
    ("a" * 158 + "€", GSM7, 1),  # 160 septets exactly
    ("a" * 305 + "€", GSM7, 3),  # the pair would straddle the end of segment 2
    ("a" * 304 + "€", GSM7, 2),  # 306 septets exactly, the pair ends segment 2
    ("\f" + "a" * 158, GSM7, 1),  # form feed is an extension character
    ("\f" + "a" * 159, GSM7, 2),
    ("`", UCS2, 1),  # the backtick is not in the default alphabet
    ("a" * 69 + "`", UCS2, 1),
    ("α", UCS2, 1),  # only capital Greek letters are GSM-7
    ("ç", UCS2, 1),
    ("a" * 68 + EMOJI, UCS2, 1),  # 70 units
    ("a" * 69 + EMOJI, UCS2, 2),  # 71 units; the pair cannot end segment 1 at unit 68
    (EMOJI * 35, UCS2, 1),
    (EMOJI * 36, UCS2, 2),  # 33 pairs per 67-unit segment (66 units), 3 left over
    (EMOJI * 67, UCS2, 3),  # 33 + 33 + 1
    ("a" * 134 + "ê", UCS2, 3),
]


@pytest.mark.parametrize(("body", "encoding", "segments"), SPEC_VECTORS + DERIVED_VECTORS)
def test_vectors(body, encoding, segments):
    info = analyse(body)
    assert info.encoding == encoding
    assert info.segments == segments
    assert count_segments(body) == segments


@pytest.mark.parametrize("char", list("êâîôûëïÿœÀÈÊç`"))
def test_each_non_gsm_character_forces_ucs2(char):
    info = analyse("Bonjour " + char)
    assert info.encoding == UCS2
    assert info.non_gsm_characters == [char]


def test_units_and_characters():
    info = analyse("a€" + "b")
    assert (info.characters, info.units, info.per_segment) == (3, 4, 160)
    info = analyse(EMOJI + "é" + "ê")
    assert (info.characters, info.units, info.per_segment) == (3, 4, 70)
    assert info.non_gsm_characters == [EMOJI, "ê"]  # é is GSM-7


def test_long_message_uses_concatenated_capacity():
    assert analyse("a" * 161).per_segment == 153
    assert analyse("ê" * 71).per_segment == 67


def test_smart_encoding_replaces_typography():
    body = "« Promo » – c\u2019est l\u2019été\u2026\u00a0-20\u202f%\u200b !"
    assert smart_encode(body) == "\" Promo \" - c'est l'été... -20 % !"
    assert analyse(body).encoding == UCS2
    info = analyse(body, smart=True)
    assert info.encoding == GSM7
    assert info.body == smart_encode(body)


def test_smart_encoding_never_touches_accented_letters():
    body = "Fête à Noël, crème brûlée, garçon, œuf, Ève"
    assert smart_encode(body) == body
    assert analyse(body, smart=True).encoding == UCS2


def test_ucs2_report_lists_culprits_and_saving():
    body = "a" * 100 + "ê" + "’"
    report = ucs2_report(body)
    assert report.segments == 2
    assert report.segments_if_all_replaced == 1
    assert report.saving == 1
    by_char = {c.char: c for c in report.culprits}
    assert by_char["ê"].replacement == "e"
    assert by_char["ê"].segments_if_replaced == 2  # the quote still forces UCS-2
    assert by_char["’"].segments_if_replaced == 2
    assert report.replaced_body == "a" * 100 + "e'"


def test_ucs2_report_for_emoji_has_no_replacement():
    report = ucs2_report("Hello " + EMOJI)
    assert report.culprits[0].replacement is None
    assert report.saving == 0


def _reference_segments(body: str) -> int:
    """A straightforward implementation of 23.040 segmentation, for comparison."""
    if not body:
        return 0
    gsm = all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body)
    if gsm:
        widths = [2 if c in GSM7_EXTENSION else 1 for c in body]
        single, multi = 160, 153
    else:
        widths = [2 if ord(c) > 0xFFFF else 1 for c in body]
        single, multi = 70, 67
    if sum(widths) <= single:
        return 1
    segments, used = 1, 0
    for w in widths:
        if used + w > multi:
            segments, used = segments + 1, 0
        used += w
    return segments


_ALPHABET = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION) + ["ê", EMOJI, "ç", "’"])


@settings(max_examples=300)
@given(st.lists(_ALPHABET, max_size=700).map("".join))
def test_segments_match_reference(body):
    assert count_segments(body) == _reference_segments(body)
    assert analyse(body).segments == _reference_segments(body)
