"""The dashboard in a real headless Chromium: sign-in, navigation, sign-out, phone widths.

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver). The driver
path is always given explicitly, so Selenium Manager never runs (it would try to download one).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from tests.conftest import TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "install Debian's browser and driver: sudo apt-get install chromium chromium-driver"
TIMEOUT = 10  # seconds to wait for a page


@pytest.fixture
def live_server(app):
    """Serve the test app on a free local port in a daemon thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="toktra-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def browser():
    """A headless Chromium driven by chromedriver, with a fresh profile; quit afterwards."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: {INSTALL_HINT}", pytrace=False)


    profile = tempfile.mkdtemp(prefix="toktra-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"Chromium did not start ({exc.msg}); {INSTALL_HINT}", pytrace=False)
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- helpers ----------------------------------------------------------------------------------

def wait(browser):
    return WebDriverWait(browser, TIMEOUT)


def replaced(old_page):
    """A wait condition: the page old_page belonged to has been replaced by the next one.

    Selenium's staleness_of only counts StaleElementReferenceException, but Chromium can instead answer that the
    node "does not belong to the document" while it swaps documents: that means replaced too.
    """
    def check(_browser) -> bool:
        try:
            old_page.is_enabled()
        except WebDriverException:  # stale, or detached mid-navigation
            return True
        return False

    return check


def heading(browser) -> str:
    """The page's h1 text (whitespace collapsed)."""
    return " ".join(browser.find_element(By.TAG_NAME, "h1").text.split())


def sign_in(browser, base_url, email, password=TEST_PASSWORD):
    """Fill in and submit the sign-in form like a person would."""
    browser.get(f"{base_url}/login")
    assert heading(browser) == "◆ Toktra"
    email_box = browser.find_element(By.ID, "email")
    assert browser.switch_to.active_element == email_box  # autofocus
    email_box.send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    wait(browser).until(replaced(old_page))


def go(browser, *link_texts):
    """Click the main navigation link with the given text (checking its group label first)."""
    nav = browser.find_element(By.CSS_SELECTOR, "nav.nav")
    *group, text = link_texts
    if group:
        group_el = nav.find_element(
            By.XPATH, f".//div[contains(@class,'nav-group')][span[normalize-space()='{group[0]}']]")
        link = group_el.find_element(By.LINK_TEXT, text)
    else:
        link = nav.find_element(By.XPATH, f"./a[normalize-space()='{text}']")
    old_page = browser.find_element(By.TAG_NAME, "html")
    link.click()
    wait(browser).until(replaced(old_page))
    active = browser.find_element(By.CSS_SELECTOR, "nav.nav a.active")
    assert active.text == text


def nav_texts(browser) -> list[str]:

    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "nav.nav a")]


def assert_no_sideways_scroll(browser, what, width):
    """The page is no wider than the window (nor than the area left of a vertical scrollbar)."""
    scroll_width, client_width, inner_width = browser.execute_script(
        "const d = document.documentElement; return [d.scrollWidth, d.clientWidth, window.innerWidth];")
    assert inner_width == width, f"the window is {inner_width}px wide, expected {width}px"
    assert scroll_width <= inner_width and scroll_width <= client_width, (
        f"{what} scrolls sideways at {width}px: the page is {scroll_width}px wide")


def record_usage(org, user):
    """A few usage events this month so the overview shows real tables."""
    from app.services.usage import ingest_usage

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    events = [
        {"id": f"evt-{i}", "user_email": user.email, "provider": provider, "model": model,
         "input_tokens": inp, "output_tokens": out, "cost_usd": cost,
         "occurred_at": (now - dt.timedelta(minutes=i)).isoformat()}
        for i, (provider, model, inp, out, cost) in enumerate([
            ("openai", "gpt-4o", 812_000, 203_500, "1912.45"),
            ("anthropic", "claude-sonnet-4", 1_240_500, 310_000, "4830.10"),
            ("openai", "gpt-4o-mini", 95_000, 12_000, "12.30"),
        ])
    ]
    result = ingest_usage(org, events)
    assert result.accepted == 3, result


def record_alerts_and_requests(org, admin, member):
    """Alerts and reimbursement requests, so those pages show full tables."""
    from decimal import Decimal

    from app.extensions import db
    from app.models import Alert, ReimbursementRequest

    now = dt.datetime.now(dt.timezone.utc)
    db.session.add_all([
        Alert(org_id=org.id, severity="critical", policy="Budget threshold",
              title="Globex has spent 112% of its $10,000.00 monthly budget", subject_user=None, fired_at=now),
        Alert(org_id=org.id, severity="medium", policy="Unusual spend",
              title="alice@globex.example spent $1,912.45 on openai/gpt-4o-2024-08-06 in an hour",
              subject_user=member, status="acknowledged", acknowledged_by=admin, acknowledged_at=now,
              fired_at=now - dt.timedelta(hours=3)),
        ReimbursementRequest(org_id=org.id, employee=member, approver=admin, amount=Decimal("1234.56"),
                             period=now.strftime("%Y-%m"), description="ChatGPT Plus and API credits for the Q3 report"),
        ReimbursementRequest(org_id=org.id, employee=member, approver=admin, amount=Decimal("20"),
                             period=now.strftime("%Y-%m"), status="approved", decided_by=admin, decided_at=now,
                             description="Claude Pro"),
    ])
    db.session.commit()


# --- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["member", "manager", "admin"])
def test_sign_in_navigate_and_sign_out(live_server, browser, make_user, role):
    user = make_user(f"{role}@globex.example", f"Pat {role.title()}", role=role)
    sign_in(browser, live_server, user.email.upper())  # emails are case-insensitive

    assert browser.current_url == f"{live_server}/"
    assert heading(browser).startswith("Overview")
    assert browser.title == "Overview · Toktra"
    who = browser.find_element(By.CSS_SELECTOR, ".account .who").text
    assert f"Pat {role.title()}" in who and "Globex" in who
    assert "Your usage" in browser.find_element(By.TAG_NAME, "main").text

    go(browser, "Integrations", "Slack")
    assert browser.current_url == f"{live_server}/integrations/slack"
    assert heading(browser) == "Integrations Slack"
    assert "No Slack workspace is connected to Globex yet." in browser.page_source

    go(browser, "Alerts")
    assert browser.current_url == f"{live_server}/alerts"
    assert heading(browser) == "Alerts"

    if role == "member":
        assert "Approvals" not in nav_texts(browser)
    else:
        go(browser, "Reimbursements", "Approvals")
        assert browser.current_url == f"{live_server}/reimbursements/approvals"
        assert heading(browser) == "Reimbursements Approvals"
        assert "Nothing is waiting for you." in browser.page_source

    go(browser, "Settings")
    assert browser.current_url == f"{live_server}/settings"
    assert heading(browser) == "Settings"
    save = browser.find_elements(By.XPATH, "//button[normalize-space()='Save']")
    assert bool(save) == (role == "admin")

    go(browser, "Overview")
    assert heading(browser).startswith("Overview")

    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
    wait(browser).until(replaced(old_page))
    assert browser.current_url == f"{live_server}/login"
    assert browser.find_element(By.ID, "email").is_displayed()
    assert "You have been signed out." in browser.find_element(By.CSS_SELECTOR, ".flash-info").text
    assert not browser.find_elements(By.CSS_SELECTOR, "nav.nav")

    # Signed out for real: the overview sends us back to sign in.
    browser.get(f"{live_server}/")
    assert browser.current_url == f"{live_server}/login?next=%2F"
    assert "Please sign in to continue." in browser.find_element(By.CSS_SELECTOR, ".flash").text


def test_a_wrong_password_shows_a_clear_message(live_server, browser, member):
    sign_in(browser, live_server, member.email, "not the password")
    assert browser.current_url == f"{live_server}/login"
    flash = browser.find_element(By.CSS_SELECTOR, ".flash-error")
    assert flash.text == "That email and password do not match an account."
    assert flash.is_displayed()
    assert not browser.find_elements(By.CSS_SELECTOR, "nav.nav")  # still signed out
    assert browser.find_element(By.ID, "email").get_attribute("value") == member.email
    assert browser.find_element(By.ID, "password").get_attribute("value") == ""


def test_pages_fit_a_phone_and_look_right(live_server, browser, org, admin, member):
    record_usage(org, member)
    record_alerts_and_requests(org, admin, member)

    # Desktop screenshots of the sign-in page and the overview.
    browser.get(f"{live_server}/login")
    browser.save_screenshot("/tmp/toktra-login.png")
    sign_in(browser, live_server, admin.email)
    assert heading(browser).startswith("Overview")
    assert "$6,754.85" in browser.find_element(By.TAG_NAME, "main").text  # the org's spend
    browser.save_screenshot("/tmp/toktra-overview.png")
    assert_no_sideways_scroll(browser, "the overview", 1280)

    # A phone: 390 CSS pixels wide.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False})
    try:
        browser.get(f"{live_server}/")
        assert heading(browser).startswith("Overview")
        assert_no_sideways_scroll(browser, "the overview", 390)
        browser.save_screenshot("/tmp/toktra-overview-phone.png")
        # The other pages too, with tables full of data (wide tables scroll inside their card).
        for path in ("/integrations/slack", "/alerts", "/reimbursements/approvals", "/settings"):
            browser.get(f"{live_server}{path}")
            assert browser.find_element(By.CSS_SELECTOR, "nav.nav a.active").is_displayed()
            assert_no_sideways_scroll(browser, path, 390)

        browser.delete_all_cookies()  # signed out
        browser.get(f"{live_server}/login")
        assert browser.find_element(By.ID, "email").is_displayed()
        assert_no_sideways_scroll(browser, "the sign-in page", 390)
        browser.save_screenshot("/tmp/toktra-login-phone.png")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
