"""All models, imported so that ``Base.metadata`` knows every table."""

from payymo.models.api_key import ApiKey
from payymo.models.audit import AuditLog, PartnerAuditLog
from payymo.models.banking import (
    BankAccount,
    BankConnection,
    ProviderAccount,
    ProviderCredential,
    ProviderToken,
)
from payymo.models.counterparty_name import CounterpartyName
from payymo.models.event import Event
from payymo.models.idempotency import IdempotencyRecord, PartnerIdempotencyRecord
from payymo.models.invoice import Invoice
from payymo.models.job import Job
from payymo.models.partner import Partner, PartnerKey, TenantOffboarding
from payymo.models.portal import PortalLink
from payymo.models.reconcile_index import (
    ReconcileChange,
    ReconcileItem,
    ReconcileKey,
    ReconcileNameCustomer,
    ReconcileWord,
)
from payymo.models.reconciliation import (
    Allocation,
    Match,
    MatchBlock,
    PayerMemory,
    PayoutAllocation,
    Suggestion,
)
from payymo.models.rollup import Rollup, RollupDelta
from payymo.models.search_trigram import SearchTrigram
from payymo.models.stripe import (
    StripeBalanceTransaction,
    StripeEvent,
    StripeLink,
    StripePayment,
    StripePayout,
)
from payymo.models.sync_clock import SyncClock
from payymo.models.tenant import Tenant
from payymo.models.transaction import Transaction
from payymo.models.webhook import (
    PartnerWebhookEndpoint,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "Allocation",
    "ApiKey",
    "AuditLog",
    "BankAccount",
    "BankConnection",
    "CounterpartyName",
    "Event",
    "IdempotencyRecord",
    "Invoice",
    "Job",
    "Match",
    "MatchBlock",
    "Partner",
    "PartnerAuditLog",
    "PartnerIdempotencyRecord",
    "PartnerKey",
    "PartnerWebhookEndpoint",
    "PayerMemory",
    "PayoutAllocation",
    "PortalLink",
    "ProviderAccount",
    "ProviderCredential",
    "ProviderToken",
    "ReconcileChange",
    "ReconcileItem",
    "ReconcileKey",
    "ReconcileNameCustomer",
    "ReconcileWord",
    "Rollup",
    "RollupDelta",
    "SearchTrigram",
    "StripeBalanceTransaction",
    "StripeEvent",
    "StripeLink",
    "StripePayment",
    "StripePayout",
    "Suggestion",
    "SyncClock",
    "Tenant",
    "TenantOffboarding",
    "Transaction",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
