"""Reimbursements → Approvals in a real headless Chromium: a manager approves and rejects."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from app.extensions import db
from app.models import ReimbursementRequest
from tests.conftest import fresh
from tests.test_browser import browser, go, live_server, replaced, sign_in, wait  # noqa: F401 (fixtures)


def test_a_manager_approves_and_rejects_on_the_approvals_page(live_server, browser, make_user, org):  # noqa: F811
    manager = make_user("max@globex.example", "Max Manager", role="manager")
    alice = make_user("alice@globex.example", "Alice Smith", manager=manager.email)
    requests = [ReimbursementRequest(org_id=org.id, employee_id=alice.id, approver_id=manager.id, amount=amount,
                                     currency="USD", period="2025-01", description=what)
                for amount, what in (("42.50", "ChatGPT Plus"), ("19.99", "Claude Pro"))]
    db.session.add_all(requests)
    db.session.commit()

    sign_in(browser, live_server, manager.email)
    go(browser, "Reimbursements", "Approvals")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.approvals tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows] == ["ChatGPT Plus", "Claude Pro"]

    first = browser.find_element(By.ID, f"request-{requests[0].id}")
    old_page = browser.find_element(By.TAG_NAME, "html")
    first.find_element(By.XPATH, ".//button[normalize-space()='Approve']").click()
    wait(browser).until(replaced(old_page))
    assert "Alice Smith's request was approved." in browser.find_element(By.CSS_SELECTOR, ".flash-success").text

    second = browser.find_element(By.ID, f"request-{requests[1].id}")
    second.find_element(By.NAME, "reason").send_keys("Use the team licence")
    old_page = browser.find_element(By.TAG_NAME, "html")
    second.find_element(By.XPATH, ".//button[normalize-space()='Reject']").click()
    wait(browser).until(replaced(old_page))

    assert "Nothing is waiting for you." in browser.page_source
    history = browser.find_element(By.XPATH, "//section[h2[normalize-space()='Decided']]").text
    assert "Approved" in history and "Rejected" in history and "“Use the team licence”" in history
    assert "Queued for export" in history
    assert fresh(requests[0]).status == "approved" and fresh(requests[1]).rejection_reason == "Use the team licence"
    browser.save_screenshot("/tmp/toktra-approvals.png")
