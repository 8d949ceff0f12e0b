"""ITSM jobs: test a ServiceNow or Jira connector and record the result for Integrations → ITSM."""
from __future__ import annotations

import logging

from app.extensions import db
from app.itsm import ItsmError, client_for, one_line
from app.models import ItsmConnector
from app.models.types import utcnow

log = logging.getLogger(__name__)

RESULT_LIMIT = 500  # ItsmConnector.last_test_result's length


def test_connector(connector_id: int) -> str:
    """Check the connector's URL, credentials and project; store the outcome in last_test_*; return it."""
    connector = db.session.get(ItsmConnector, connector_id)
    if connector is None:
        return "connector gone"
    try:
        message, ok = client_for(connector).test_connection(), True
    except ItsmError as exc:
        message, ok = exc.message, False
    except Exception:  # a bug must not leave the admin waiting: record it, keep the details in the log
        log.exception("testing ITSM connector %s failed unexpectedly", connector_id)
        message, ok = "The test failed unexpectedly on Toktra's side; it has been logged. Try again later.", False
    connector.last_test_at = utcnow()
    connector.last_test_ok = ok
    connector.last_test_result = one_line(message, RESULT_LIMIT)
    db.session.commit()
    return message


test_connector.__test__ = False  # a job, not a pytest test, when tests import this module
