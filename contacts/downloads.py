"""Files the contacts pages and the API hand out."""

from __future__ import annotations

from django.http import FileResponse, Http404

from . import jobs
from .models import ImportJob


def rejected_rows_response(job: ImportJob) -> FileResponse:
    """The CSV of an import's rejected rows as a download; 404 when there is none."""
    path = jobs.rejected_rows_file(job)
    if path is None:
        raise Http404
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 - closed by the response
        as_attachment=True,
        filename=f"rejected-{job.pk}.csv",
        content_type="text/csv; charset=utf-8",
    )
