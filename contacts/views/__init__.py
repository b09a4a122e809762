"""Pages of step 1, "J'importe mes contacts": contacts, lists, segments, the import wizard, opt-outs,
GDPR requests and the public opt-in form, one module a subject. Views validate a form, call a service and
render."""

from .contacts import ContactBulkView as ContactBulkView
from .contacts import ContactCreateView as ContactCreateView
from .contacts import ContactDeleteView as ContactDeleteView
from .contacts import ContactDetailView as ContactDetailView
from .contacts import ContactEditView as ContactEditView
from .contacts import ContactExportView as ContactExportView
from .contacts import ContactGdprEraseView as ContactGdprEraseView
from .contacts import ContactGdprExportView as ContactGdprExportView
from .contacts import ContactListView as ContactListView
from .contacts import ContactOptOutView as ContactOptOutView
from .imports import ImportConsentView as ImportConsentView
from .imports import ImportJobView as ImportJobView
from .imports import ImportMappingView as ImportMappingView
from .imports import ImportPreviewView as ImportPreviewView
from .imports import ImportRejectedView as ImportRejectedView
from .imports import ImportResumeView as ImportResumeView
from .imports import ImportsView as ImportsView
from .imports import ImportTotalsView as ImportTotalsView
from .imports import ImportUploadView as ImportUploadView
from .lists import ListDeleteView as ListDeleteView
from .lists import ListDetailView as ListDetailView
from .lists import ListsView as ListsView
from .optin_settings import OptInSettingsView as OptInSettingsView
from .optouts import OptOutsView as OptOutsView
from .public_optin import PublicOptInChallengeView as PublicOptInChallengeView
from .public_optin import PublicOptInConfirmView as PublicOptInConfirmView
from .public_optin import PublicOptInView as PublicOptInView
from .public_optin import public_url as public_url
from .segments import SegmentCountView as SegmentCountView
from .segments import SegmentDeleteView as SegmentDeleteView
from .segments import SegmentEditView as SegmentEditView
from .segments import SegmentsView as SegmentsView
