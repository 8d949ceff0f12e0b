"""Signing in, roles, CSRF and the dashboard's pages."""
from __future__ import annotations

from decimal import Decimal

from tests.conftest import csrf_token_from, fresh


def test_sign_in_with_email_and_password_lands_on_the_overview(client, login, member):
    response = login(member)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Alice Smith" in page
    assert "Your usage" in page


def test_a_wrong_password_is_refused_with_a_clear_message(client, login, member):
    response = login(member.email, "not the password")
    assert response.status_code == 401
    assert "That email and password do not match an account." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_the_password_is_stored_hashed(member):
    assert member.password_hash and "correct horse" not in member.password_hash
    assert member.check_password("correct horse battery")


def test_pages_need_sign_in(client):
    for path in ("/", "/integrations/slack", "/alerts", "/reimbursements/approvals", "/settings"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_a_form_posted_without_its_csrf_token_is_refused(client, member):
    response = client.post("/login", data={"email": member.email, "password": "correct horse battery"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_sign_in_does_not_redirect_to_another_site(client, member):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/steal",
                           data={"email": member.email, "password": "correct horse battery", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_sign_out_needs_a_post_with_csrf(client, login, member):
    login(member)
    assert client.get("/logout").status_code == 405
    client.post("/logout")  # no token: refused, still signed in
    assert client.get("/").status_code == 200
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302


def test_members_cannot_open_approvals(client, login, member):
    login(member)
    response = client.get("/reimbursements/approvals")
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.get_data(as_text=True)


def test_navigation_shows_each_section(client, login, make_user):
    manager = make_user("max@globex.example", "Max Manager", role="manager")
    login(manager)
    page = client.get("/").get_data(as_text=True)
    for label in ("Integrations", "Slack", "Alerts", "Reimbursements", "Approvals", "Settings"):
        assert label in page


def test_an_admin_sets_the_budget_from_settings(client, login, admin, org):
    login(admin)
    token = csrf_token_from(client.get("/settings").get_data(as_text=True))
    response = client.post("/settings", data={"monthly_limit_usd": "12,500.50", "alert_threshold_pct": "85",
                                              "csrf_token": token})
    assert response.status_code == 303
    assert "Budget saved." in client.get("/settings").get_data(as_text=True)
    assert fresh(org).monthly_budget_usd == Decimal("12500.50")
    assert org.alert_threshold_pct == 85


def test_a_bad_budget_gets_a_message_and_changes_nothing(client, login, admin, org):
    login(admin)
    token = csrf_token_from(client.get("/settings").get_data(as_text=True))
    response = client.post("/settings", data={"monthly_limit_usd": "ten", "alert_threshold_pct": "150",
                                              "csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter an amount in dollars" in page
    assert "Enter a whole number from 1 to 100, or several such as 50, 75, 90." in page
    assert fresh(org).monthly_budget_usd == Decimal("10000")


def test_a_member_sees_but_cannot_change_the_budget(client, login, member, org):
    login(member)
    page = client.get("/settings").get_data(as_text=True)
    assert "Only admins can change the budget." in page
    token = csrf_token_from(page)
    response = client.post("/settings", data={"monthly_limit_usd": "1", "alert_threshold_pct": "50", "csrf_token": token})
    assert response.status_code == 403
    assert fresh(org).monthly_budget_usd == Decimal("10000")


def test_session_cookie_is_http_only_and_same_site(client, login, member):
    response = login(member)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_an_admin_sets_several_alert_thresholds(client, login, admin, org):
    login(admin)
    token = csrf_token_from(client.get("/settings").get_data(as_text=True))
    response = client.post("/settings", data={"monthly_limit_usd": "10000", "alert_threshold_pct": "90, 50,75%",
                                              "csrf_token": token})
    assert response.status_code == 303
    assert fresh(org).thresholds == [50, 75, 90]
    assert 'value="50, 75, 90"' in client.get("/settings").get_data(as_text=True)
    assert "50%, 75%, 90%" in client.get("/").get_data(as_text=True)
