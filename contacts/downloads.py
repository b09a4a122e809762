"""Files the contacts pages and the API hand out."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django.utils.translation import pgettext

from . import jobs
from .models import ImportJob

# What the import page offers: the rows to fix (to correct and import again), and the rows left out on
# purpose (duplicates, opted-out numbers), for information. Without a part: every rejected row.
REJECTED_PARTS = {
    "invalid": (jobs.INVALID,),
    "other": (jobs.DUPLICATE, jobs.OPTED_OUT),
}


def rejected_rows_response(
    job: ImportJob, *, part: str | None = None, machine: bool = False
) -> StreamingHttpResponse:
    """The CSV of an import's rejected rows as a download, in the request's language (``machine``: the
    API's stable column names); 404 when there is none or ``part`` is unknown."""
    path = jobs.rejected_rows_file(job)
    if path is None or (part is not None and part not in REJECTED_PARTS):
        raise Http404
    names = {
        "invalid": pgettext("file name", "rows-to-fix"),
        "other": pgettext("file name", "duplicates-and-opted-out"),
    }
    response = StreamingHttpResponse(
        jobs.rejected_rows_stream(path, kinds=REJECTED_PARTS.get(part or ""), machine=machine),
        content_type="text/csv; charset=utf-8",
    )
    name = names.get(part or "", "rejected")
    response["Content-Disposition"] = f'attachment; filename="{name}-{job.pk}.csv"'
    return response
