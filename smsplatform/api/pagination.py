from collections import OrderedDict

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

# PostgreSQL's OFFSET is a bigint: a larger page number would be a database error, and no table here
# will ever hold that many rows, so such a page is simply past the end.
MAX_OFFSET = 2**63 - 1


class NoCountPagination(PageNumberPagination):
    """Page-number pagination that never counts the whole table.

    A list of a million contacts must not run ``COUNT(*)`` on every page: we fetch one row more than the
    page to know whether a next page exists.
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request) or 50
        try:
            self.page_number = max(1, int(request.query_params.get(self.page_query_param, 1)))
        except (TypeError, ValueError):
            self.page_number = 1
        offset = (self.page_number - 1) * page_size
        if offset + page_size + 1 > MAX_OFFSET:
            self.has_next = False
            return []
        rows = list(queryset[offset : offset + page_size + 1])
        self.has_next = len(rows) > page_size
        return rows[:page_size]

    def _url(self, number: int | None):
        if number is None:
            return None
        from rest_framework.utils.urls import remove_query_param, replace_query_param

        url = self.request.build_absolute_uri()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("next", self._url(self.page_number + 1 if self.has_next else None)),
                    ("previous", self._url(self.page_number - 1 if self.page_number > 1 else None)),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
