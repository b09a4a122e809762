"""Writes on templates and campaigns: the state machine, the launch, pause, resume, cancel, and the
transactional messages (confirmations, one-time codes) that go through the same pipeline.

The launch is one transaction (docs/architecture.md, "The sending pipeline"): the audience is frozen
into one message row per recipient, its URLs become per-recipient tracked short links
(:mod:`analytics.links`), the credits are reserved against the billing ledger, the campaign becomes
``sending``, and the coordinator task is enqueued only after commit. The dispatch itself lives in
:mod:`campaigns.pipeline`.
"""

from ._common import TRANSITIONS as TRANSITIONS
from .editing import campaign_create as campaign_create
from .editing import campaign_delete as campaign_delete
from .editing import campaign_update as campaign_update
from .estimate import campaign_estimate as campaign_estimate
from .launch import campaign_launch as campaign_launch
from .launch import campaign_start_scheduled as campaign_start_scheduled
from .lifecycle import campaign_cancel as campaign_cancel
from .lifecycle import campaign_pause as campaign_pause
from .lifecycle import campaign_resume as campaign_resume
from .lifecycle import campaign_settle as campaign_settle
from .templates import template_create as template_create
from .templates import template_delete as template_delete
from .templates import template_update as template_update
from .transactional import HELP_TEXT as HELP_TEXT
from .transactional import OPT_IN_CONFIRMATION_TEXT as OPT_IN_CONFIRMATION_TEXT
from .transactional import OPT_OUT_CONFIRMATION_TEXT as OPT_OUT_CONFIRMATION_TEXT
from .transactional import campaign_transactional_approve as campaign_transactional_approve
from .transactional import campaign_transactional_revoke as campaign_transactional_revoke
from .transactional import sms_send_transactional as sms_send_transactional
