"""Every action_id and slash command the app handles, named once."""

ACKNOWLEDGE_ALERT = "toktra_alert_acknowledge"
CREATE_TICKET = "toktra_alert_create_ticket"
APPROVE_REIMBURSEMENT = "toktra_reimbursement_approve"
REJECT_REIMBURSEMENT = "toktra_reimbursement_reject"

USAGE_COMMAND = "/toktra-usage"
BUDGET_COMMAND = "/toktra-budget"
ALERTS_COMMAND = "/toktra-alerts"
COMMANDS = (USAGE_COMMAND, BUDGET_COMMAND, ALERTS_COMMAND)
