"""Every movement of credits goes through these services, under a lock of the organisation's account.

Ledger
    ``credits_grant`` / ``credits_debit`` append one signed entry and move the balance row in the same
    transaction; the balance row is locked first (``SELECT ... FOR UPDATE``), so concurrent writers of one
    organisation queue and the balance can never go below zero (a database check backs this up).

Reservations (the sending pipeline's contract)
    A campaign holds its credits under a ``reference`` (e.g. ``"campaign:42"``) while it runs:

    * ``credits_reserve(org=, amount=, reference=)`` at launch: takes ``amount`` from the balance (a
      ``reservation`` entry) or raises :class:`InsufficientCredits` (API: 402) and writes nothing. May be
      called again for the same reference to hold more (e.g. a resumed campaign with more recipients).
    * ``credits_release(org=, amount=, reference=)`` when messages will not be sent (blocked by the gate,
      failed permanently, cancelled): gives them back (a ``release`` entry). Releasing more than the
      reference still holds raises :class:`ReservationError` and writes nothing.
    * ``credits_settle(org=, reference=, spent=)`` when the campaign ends (finished or cancelled):
      ``spent`` is the total the campaign consumed (sent messages x segments x price); the rest is
      released and the reservation is closed. Settling again with the same ``spent`` is a no-op, so a
      settle task delivered twice is harmless; a closed reference accepts no more reserve or release.

    So: sent = spent; blocked, failed, cancelled = released; ``credits_reserved(org)`` (selectors) is the
    sum still held by open reservations and is 0 once every campaign is settled.

Purchases and invoices
    ``purchase_start`` records an order and asks the payment adapter for a checkout URL;
    ``purchase_confirm`` (called by the fake checkout or by the provider's webhook) grants the credits
    and issues the invoice, once; ``purchase_refund`` takes the credits back and issues a credit note.
"""

# Callers import from the package, not from the module that defines a name, so modules can be rearranged.
from ..errors import EventNotReady as EventNotReady
from ..errors import InsufficientCredits as InsufficientCredits
from ..errors import PaymentError as PaymentError
from ..errors import PurchaseError as PurchaseError
from ..errors import ReservationError as ReservationError
from .ledger import credits_adjust as credits_adjust
from .ledger import credits_debit as credits_debit
from .ledger import credits_grant as credits_grant
from .low_balance import billing_settings_get as billing_settings_get
from .low_balance import billing_settings_update as billing_settings_update
from .prices import credit_pack_save as credit_pack_save
from .prices import region_price_delete as region_price_delete
from .prices import region_price_set as region_price_set
from .purchases import payment_event_handle as payment_event_handle
from .purchases import purchase_confirm as purchase_confirm
from .purchases import purchase_fail as purchase_fail
from .purchases import purchase_refund as purchase_refund
from .purchases import purchase_start as purchase_start
from .reservations import credits_release as credits_release
from .reservations import credits_reserve as credits_reserve
from .reservations import credits_settle as credits_settle
