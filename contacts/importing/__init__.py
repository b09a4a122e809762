"""The import-file engine: read CSV/XLSX files, guess the column mapping, clean rows, write safe CSV.

Pure Python with no database access, so the wizard's preview and the Celery import job share exactly the
same parsing and the same rejection reasons. Everything streams: a 100 MB file is never held in memory.
"""
