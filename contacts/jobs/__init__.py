"""Import jobs: the wizard's and the API's file import, run in the background by a Celery task.

The parsing (encodings, delimiters, mapping guesses, phone repair, row cleaning) is the pure engine in
:mod:`contacts.importing`; this package adds the database side:

* the uploaded file is stored under ``MEDIA_ROOT/imports/<org>/`` and a job row keeps the mapping and the
  consent attestation (docs/compliance.md, "Consent");
* the job streams the file in chunks of ``IMPORT_CHUNK_ROWS`` rows; per chunk it loads the existing
  numbers and the suppressions with one query each, bulk-inserts new contacts, bulk-updates existing
  ones (tags merged, empty cells never erase data), never re-subscribes an opted-out number, records a
  consent proof per imported row referencing the job, and commits the chunk together with the job's
  counters and checkpoint (``processed_rows``, ``rejected_bytes``);
* a job killed half-way resumes after its last committed chunk; a row whose contact was already written
  by this job is a duplicate, so a resumed or re-run job never creates anything twice.

The modules: :mod:`.plan` (the mapping of a file's columns, a cleaned row), :mod:`.files` (the stored
upload, its inspection and preview, the rejected-rows file), :mod:`.run` (creating, running, finishing
and resuming jobs), :mod:`.writer` (one chunk, one transaction: the interface of the two import paths
and their shared checkpoint), :mod:`.orm_writer` (the portable path), :mod:`.set_writer` (PostgreSQL's
set-based path), :mod:`.parallel` (its cleaning, in forked parse workers), :mod:`.totals` (the counts
the wizard shows before the job starts) and :mod:`.rejected` (the rejected-rows file's lines and its
download).
"""

from .files import SAMPLE_ROWS as SAMPLE_ROWS
from .files import FileSample as FileSample
from .files import Preview as Preview
from .files import file_error_message as file_error_message
from .files import file_refusal as file_refusal
from .files import import_file_discard as import_file_discard
from .files import import_file_inspect as import_file_inspect
from .files import import_file_store as import_file_store
from .files import import_preview as import_preview
from .files import import_root as import_root
from .files import max_upload_bytes as max_upload_bytes
from .files import parse_memory_bytes as parse_memory_bytes
from .files import rejected_rows_file as rejected_rows_file
from .parallel import STAGE_COLUMNS as STAGE_COLUMNS
from .parallel import TAG_SEPARATOR as TAG_SEPARATOR
from .parallel import PreparedChunk as PreparedChunk
from .parallel import parse_processes as parse_processes
from .parallel import prepare_chunk as prepare_chunk
from .plan import ATTRIBUTE as ATTRIBUTE
from .plan import IGNORE as IGNORE
from .plan import MERGE_FIELDS as MERGE_FIELDS
from .plan import ColumnPlan as ColumnPlan
from .plan import RowOutcome as RowOutcome
from .plan import contact_fields as contact_fields
from .plan import guess_mapping as guess_mapping
from .plan import mapping_clean as mapping_clean
from .rejected import DUPLICATE as DUPLICATE
from .rejected import INVALID as INVALID
from .rejected import OPTED_OUT as OPTED_OUT
from .rejected import rejected_rows_stream as rejected_rows_stream
from .run import STALLED_AFTER as STALLED_AFTER
from .run import import_job_create as import_job_create
from .run import import_job_dispatch as import_job_dispatch
from .run import import_job_resume as import_job_resume
from .run import import_job_run as import_job_run
from .run import import_jobs_requeue_stalled as import_jobs_requeue_stalled
from .totals import ImportTotals as ImportTotals
from .totals import import_totals as import_totals
from .writer import ChunkCounts as ChunkCounts
from .writer import ChunkWriter as ChunkWriter
from .writer import chunk_rows as chunk_rows
