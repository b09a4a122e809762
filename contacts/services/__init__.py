"""Writes on contacts, tags, lists, segments, consent proofs, opt-outs, GDPR requests and the public
opt-in form, one module a subject. Import jobs live in :mod:`contacts.jobs`.

Every function is keyword-only, takes the organisation and the actor, runs in a transaction and writes
an audit row. Bulk first: the single-contact functions are thin wrappers or share the same helpers, and
nothing runs one query per contact.
"""

from .cleaning import EDITABLE_FIELDS as EDITABLE_FIELDS
from .cleaning import TAG_MAX_LENGTH as TAG_MAX_LENGTH
from .cleaning import _actor_label as _actor_label
from .cleaning import _actor_user as _actor_user
from .cleaning import attribute_key_clean as attribute_key_clean
from .cleaning import attributes_clean as attributes_clean
from .cleaning import tags_clean as tags_clean
from .consent import consent_record as consent_record
from .consent import stronger_basis as stronger_basis
from .contacts import contact_create as contact_create
from .contacts import contact_delete as contact_delete
from .contacts import contact_update as contact_update
from .contacts import contacts_delete as contacts_delete
from .gdpr import contact_access_export as contact_access_export
from .gdpr import contact_erase as contact_erase
from .lists import contact_list_create as contact_list_create
from .lists import contact_list_delete as contact_list_delete
from .lists import contact_list_get_or_create as contact_list_get_or_create
from .lists import contact_list_update as contact_list_update
from .lists import contacts_add_to_list as contacts_add_to_list
from .lists import contacts_remove_from_list as contacts_remove_from_list
from .optin import OPTIN_CODE_LIFETIME as OPTIN_CODE_LIFETIME
from .optin import OPTIN_COUNTRY_REGIONS as OPTIN_COUNTRY_REGIONS
from .optin import OPTIN_MAX_ATTEMPTS as OPTIN_MAX_ATTEMPTS
from .optin import default_optin_wording as default_optin_wording
from .optin import optin_confirm as optin_confirm
from .optin import optin_countries_clean as optin_countries_clean
from .optin import optin_default_countries as optin_default_countries
from .optin import optin_form_daily_cap_set as optin_form_daily_cap_set
from .optin import optin_form_get as optin_form_get
from .optin import optin_form_set_enabled as optin_form_set_enabled
from .optin import optin_form_update as optin_form_update
from .optin import optin_request as optin_request
from .optouts import contacts_sync_opted_out as contacts_sync_opted_out
from .optouts import optout_add as optout_add
from .optouts import optout_lift as optout_lift
from .phones import ContextCache as ContextCache
from .phones import phone_error_message as phone_error_message
from .phones import phone_normalise as phone_normalise
from .phones import recipient_context_tuple as recipient_context_tuple
from .segments import SEGMENT_KEYS as SEGMENT_KEYS
from .segments import segment_create as segment_create
from .segments import segment_delete as segment_delete
from .segments import segment_filters_clean as segment_filters_clean
from .segments import segment_update as segment_update
from .tags import contacts_tag as contacts_tag
from .tags import contacts_untag as contacts_untag
from .tags import tags_ensure as tags_ensure
