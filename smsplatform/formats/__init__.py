"""Date and number formats per language (settings.FORMAT_MODULE_PATH), over Django's own.

English reads "3 December 2026" and "1,000.00 €" (day first: the shops and their customers are in
Europe, and "12/03/2026" would be read as the 12th of March); French keeps Django's "3 décembre 2026"
and groups thousands with a narrow no-break space, as money already does ("1 000,00 €").
"""
