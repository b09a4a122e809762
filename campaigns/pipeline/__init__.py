"""The sending pipeline after launch: dispatch, batches, gateway results, receipts, periodic work.

Exactly-once, through crashes and retries, rests on three things:

* a message is handed to a gateway only by the batch task that moved it from ``pending``/``deferred`` to
  ``sending`` (rows locked with ``SELECT ... FOR UPDATE SKIP LOCKED``, then a conditional UPDATE that also
  re-checks the suppression list), so a batch delivered twice, or two overlapping runs, send nothing
  twice: the second finds the rows locked or no longer pending;
* the claim is committed before the gateway call, so a worker killed after it leaves the rows in
  ``sending`` with ``claimed_at``; the reconciliation asks the provider, by client reference (the message
  id), whether it got them (see :func:`messages_reconcile`) before anything is sent again;
* a message retried after an ambiguous failure (``attempts`` > 0) is looked up the same way before it
  is sent again, so a gateway that timed out after accepting a batch is not sent the batch twice.

Credits: a campaign's are reserved at launch; blocked and permanently failed messages release theirs in
the batch that decided it; the settlement at the end keeps what the provider took (sent, delivered,
undelivered) and releases the rest, so nothing stays reserved. Every function takes ``now`` so tests
freeze time by passing it rather than patching the clock.

The modules follow a message: :mod:`.dispatch` (enqueueing), :mod:`.batch` (the gate, the claim, the
gateway calls), :mod:`.results` (the gateway's answers, the credits of what is not sent),
:mod:`.receipts`, then :mod:`.upkeep` (deferred messages, the reconciliation); :mod:`.limits` holds
the sizes and delays. Per-row updates go through :func:`smsplatform.bulk.rows_update`, which picks
the statement for the database.
"""

from .batch import FREQUENCY_LOCK_SPACE as FREQUENCY_LOCK_SPACE
from .batch import _context_of as _context_of
from .batch import batch_send as batch_send
from .dispatch import campaign_dispatch as campaign_dispatch
from .limits import DISPATCH_FRESH as DISPATCH_FRESH
from .limits import batch_size as batch_size
from .limits import max_attempts as max_attempts
from .limits import requeue_after as requeue_after
from .limits import retry_delay as retry_delay
from .limits import sending_timeout as sending_timeout
from .receipts import receipts_apply as receipts_apply
from .results import apply_results as apply_results
from .upkeep import messages_reconcile as messages_reconcile
from .upkeep import messages_release_deferred as messages_release_deferred
