# Only what differs from Django's "fr" formats: thousands grouped by a narrow no-break space (U+202F),
# the French typographic rule, the same in counts ("12 500 contacts") and in money ("1 950,00 €").
THOUSAND_SEPARATOR = "\u202f"
