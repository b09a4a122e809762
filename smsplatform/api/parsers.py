"""The API's JSON parser: DRF's, with a body nested deeper than Python's recursion limit refused as a 400
like any other malformed JSON (the standard decoder raises RecursionError, which is not a ValueError)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the document is nested too deeply."))
