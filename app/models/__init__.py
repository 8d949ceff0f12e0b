"""Every model, importable from one place (Alembic sees them all through db.metadata)."""
from app.models.alerts import ALERT_EVENTS, SEVERITIES, Alert, AlertEvent, Severity
from app.models.itsm import ItsmConnector, Ticket
from app.models.outbox import ChannelPace, DeferredJob, OutboxEvent, OutboxMessage
from app.models.org import ApiKey, BudgetCrossing, Organization, Role, User
from app.models.reimbursements import PayrollBatch, ReimbursementRequest
from app.models.slack import AlertChannelRoute, OAuthState, SlackUserLink, SlackWorkspace
from app.models.usage import UsageDayTotal, UsagePeriodTotal, UsageRecord, UsageRollup

__all__ = [
    "ALERT_EVENTS", "SEVERITIES", "Alert", "AlertEvent", "AlertChannelRoute", "ChannelPace", "DeferredJob", "ApiKey", "BudgetCrossing", "ItsmConnector",
    "OAuthState", "OutboxEvent", "OutboxMessage", "Organization", "PayrollBatch", "ReimbursementRequest", "Role", "Severity", "SlackUserLink",
    "SlackWorkspace", "Ticket", "UsageDayTotal", "UsagePeriodTotal", "UsageRecord", "UsageRollup", "User",
]
