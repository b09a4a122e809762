import pytest

from compliance.keywords import (
    HELP,
    NEAR_MISS_OPT_OUT,
    NONE,
    OPT_IN,
    OPT_OUT,
    classify,
    is_opt_out,
    normalise,
)

TABLE = [
    # every opt-out keyword of docs/compliance.md, "Keywords"
    ("STOP", OPT_OUT),
    ("STOP SMS", OPT_OUT),
    ("STOPSMS", OPT_OUT),
    ("ARRET", OPT_OUT),
    ("DESABONNER", OPT_OUT),
    ("DESINSCRIPTION", OPT_OUT),
    ("UNSUBSCRIBE", OPT_OUT),
    ("STOPALL", OPT_OUT),
    ("CANCEL", OPT_OUT),
    ("END", OPT_OUT),
    ("QUIT", OPT_OUT),
    ("REVOKE", OPT_OUT),
    ("OPTOUT", OPT_OUT),
    ("OPT OUT", OPT_OUT),
    # normalisation: case, spaces, trailing punctuation, accents, NFKC (full-width letters)
    ("stop", OPT_OUT),
    ("  Stop  ", OPT_OUT),
    ("Stop.", OPT_OUT),
    ("STOP !!!", OPT_OUT),
    ("stop   sms", OPT_OUT),
    ("Stop\tSMS\n", OPT_OUT),
    ("Arrêt", OPT_OUT),
    ("ARRÊT", OPT_OUT),
    ("désabonner", OPT_OUT),
    ("Désinscription.", OPT_OUT),
    ("ＳＴＯＰ", OPT_OUT),
    ("opt out?", OPT_OUT),
    # opt-in and help
    ("START", OPT_IN),
    ("start", OPT_IN),
    ("Unstop", OPT_IN),
    ("yes!", OPT_IN),
    ("HELP", HELP),
    ("info ?", HELP),
    ("Aide", HELP),
    # near misses: reviewed, treated as opt-out by default
    ("stop svp", NEAR_MISS_OPT_OUT),
    ("arretez", NEAR_MISS_OPT_OUT),
    ("Arrêtez de m'envoyer des SMS", NEAR_MISS_OPT_OUT),
    ("STOPPER", NEAR_MISS_OPT_OUT),
    ("merci de me désabonner", NEAR_MISS_OPT_OUT),
    ("Stop-SMS", NEAR_MISS_OPT_OUT),
    # nothing
    ("Merci !", NONE),
    ("Oui", NONE),
    ("A quelle heure ouvrez-vous ?", NONE),
    ("", NONE),
    ("   ", NONE),
    ("!!!", NONE),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_keyword_table(text, expected):
    assert classify(text) == expected


def test_normalise():
    assert normalise("  Désinscription !! ") == "desinscription"
    assert normalise("STOP\u00a0\u00a0SMS") == "stop sms"


def test_near_miss_counts_as_opt_out_but_help_does_not():
    assert is_opt_out(OPT_OUT) and is_opt_out(NEAR_MISS_OPT_OUT)
    assert not is_opt_out(HELP) and not is_opt_out(OPT_IN) and not is_opt_out(NONE)


def test_pack_keyword_sets():
    assert classify("baja", opt_out=["BAJA"], opt_in=["ALTA"], help=["AYUDA"]) == OPT_OUT
    assert classify("alta", opt_out=["BAJA"], opt_in=["ALTA"], help=["AYUDA"]) == OPT_IN
