"""The local Slack sandbox in a real headless Chromium, against the service started as `bash bin/serve` starts it.

One bin/serve (gunicorn, the RQ worker, the local queue, the sandbox's Slack emulator, a throwaway SQLite
database) serves the whole module; every test acts as a demo person through the page, like a newcomer would.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.test_browser import browser  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / ".screenshots"
START_TIMEOUT = 120  # seconds for bin/serve to be ready (a first run installs the venv's packages)
UI_TIMEOUT = 15  # seconds for a job's effect to reach the page
READY_LINE = "Toktra is running at"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """A running bin/serve: its web and sandbox addresses and its log."""

    def __init__(self, web: str, sandbox: str, log: Path, env: dict):
        self.web, self.sandbox, self.log, self.env = web, sandbox, log, env

    def api_key(self) -> str:
        """A new API key of the demo organization, made with bin/cli as the README says."""
        done = subprocess.run(["bash", "bin/cli", "toktra", "create-api-key", "--org", "Acme Corp (demo)",
                               "--name", "sandbox test"], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def fire_alert(self, severity: str, title: str) -> dict:
        """POST /api/v1/alerts as an integration would."""
        response = requests.post(f"{self.web}/api/v1/alerts", timeout=10,
                                 headers={"Authorization": f"Bearer {self.key}"},
                                 json={"severity": severity, "policy": "Sandbox test", "title": title,
                                       "user_email": "bob@acme.example"})
        assert response.status_code == 201, response.text
        return response.json()["alert"]


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.exists() else "(no log)"


@pytest.fixture(scope="module")
def service():
    """`bash bin/serve` on free ports with a throwaway database; stopped (the whole process group) afterwards."""
    work = Path(tempfile.mkdtemp(prefix="toktra-sandbox-"))
    ports = {"PORT": _free_port(), "LOCAL_REDIS_PORT": _free_port(), "SLACK_SANDBOX_PORT": _free_port()}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLACK_") and k not in ("REDIS_URL", "DATABASE_URL", "PUBLIC_BASE_URL", "TOKTRA_ENV")}
    env.update({k: str(v) for k, v in ports.items()})
    env["DATABASE_URL"] = f"sqlite:///{work}/toktra.db"
    log = work / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(["bash", "bin/serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in log.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"bin/serve stopped (exit {process.returncode}):\n{_tail(log)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"bin/serve was not ready within {START_TIMEOUT} s:\n{_tail(log)}", pytrace=False)
            time.sleep(0.2)
        env["REDIS_URL"] = f"redis://127.0.0.1:{ports['LOCAL_REDIS_PORT']}/0"
        served = Service(f"http://127.0.0.1:{ports['PORT']}", f"http://127.0.0.1:{ports['SLACK_SANDBOX_PORT']}",
                         log, env)
        served.key = served.api_key()
        yield served
    finally:
        if process.poll() is None:  # as Ctrl+C does: bin/serve stops its processes in order
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:  # anything of its process group still alive after bin/serve's own clean-up
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


class Page:
    """The sandbox page, used like a person would: pick who you are, open a conversation, type, click."""

    def __init__(self, driver, service: Service):
        self.driver, self.service = driver, service

    def open(self, user: str, conversation: str) -> "Page":
        self.driver.get(f"{self.service.sandbox}/sandbox")
        self.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#whoami option"))
        Select(self.driver.find_element(By.ID, "whoami")).select_by_value(user)
        dm = "D" + user[1:]  # the sidebar shows this person's DM with Toktra once the page shows their view
        self.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'a[data-conversation="{dm}"]'))
        self.go(conversation)
        return self

    def go(self, conversation: str) -> None:
        self.click(f'a[data-conversation="{conversation}"]')
        self.until(lambda d: d.find_element(By.CSS_SELECTOR, f'a[data-conversation="{conversation}"].active'))

    def act_as(self, user: str) -> None:
        Select(self.driver.find_element(By.ID, "whoami")).select_by_value(user)

    def type(self, text: str) -> None:
        box = self.driver.find_element(By.ID, "message")
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def until(self, condition, timeout: float = UI_TIMEOUT):
        """Wait for condition(driver) to be truthy (the page re-renders live, so stale elements are retried)."""
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)

    def messages(self, css: str = ".msg[data-ts]") -> list[dict]:
        """The open conversation's messages as the person sees them: text and the buttons' data."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll('#messages ' + arguments[0])].map(m => ({
                text: m.innerText, ephemeral: m.classList.contains('ephemeral'),
                buttons: [...m.querySelectorAll('button[data-action-id]')].map(b => ({
                    text: b.innerText, action: b.dataset.actionId, block: b.dataset.blockId}))}));
        """, css)

    def message_with(self, text: str, css: str = ".msg[data-ts]", also: str | None = None) -> dict:
        """Wait for the newest message of the open conversation containing `text` (and `also`); return it."""
        def find(driver):
            found = [m for m in self.messages(css) if text in m["text"] and (also is None or also in m["text"])]
            return found[-1] if found else False
        return self.until(find)

    def click(self, css: str) -> None:
        """Click the (freshly found) element matching css."""
        self.until(lambda d: d.find_element(By.CSS_SELECTOR, css).click() or True)


@pytest.fixture
def page(browser, service):  # noqa: F811 (fixture)
    return Page(browser, service)


def test_budget_command_shows_the_budget_card_with_its_bar(page):
    page.open("U0ADMIN", "C0GENERAL")
    page.type("/toktra-budget")
    card = page.message_with("Budget Status", ".msg.ephemeral")
    assert "Only visible to you" in card["text"]
    assert "Monthly limit:" in card["text"] and "$1,000" in card["text"]
    assert "█" in card["text"] or "░" in card["text"]  # the bar
    header = page.driver.find_elements(By.CSS_SELECTOR, "#messages .msg.ephemeral .bk-header")
    assert header[-1].text == "Budget Status"
    assert page.message_with("/toktra-budget", ".command-echo")


def test_a_member_is_refused_someone_elses_usage(page):
    page.open("U0ALICE", "C0GENERAL")
    page.type("/toktra-usage bob@acme.example")
    refusal = page.message_with("Only Toktra admins can look up someone else's usage", ".msg.ephemeral")
    assert "Only visible to you" in refusal["text"]
    page.act_as("U0ADMIN")  # the refusal was for Alice only
    page.until(lambda d: not any("Only Toktra admins" in m["text"] for m in page.messages()))


def test_an_alert_fired_through_the_api_appears_in_its_channels_live(page, service):
    page.open("U0BOB", "C0SECURITY")
    alert = service.fire_alert("critical", "Prompt with a customer database dump")
    card = page.message_with("Prompt with a customer database dump")
    assert "🔴" in card["text"] and "Critical" in card["text"]
    assert {"text": "Acknowledge", "action": "toktra_alert_acknowledge",
            "block": f"alert-actions-{alert['id']}"} in card["buttons"]
    page.go("C0AIALERTS")  # routed to the every-alert channel too
    page.message_with("Prompt with a customer database dump")
    page.go("C0GENERAL")  # and to no other channel
    assert not any("customer database dump" in m["text"] for m in page.messages())


def test_acknowledging_from_the_alert_list_changes_every_copy(page, service):
    title = "Model key pasted into a shared prompt"
    alert = service.fire_alert("high", title)
    page.open("U0ADMIN", "C0SECURITY")
    page.message_with(title)  # delivered before we ask for the list
    page.go("C0GENERAL")
    page.type("/toktra-alerts severity:high")
    listing = page.message_with(title, ".msg.ephemeral")
    assert "🟠" in listing["text"] and "Only visible to you" in listing["text"]
    page.click(f'#messages .msg.ephemeral button[data-block-id="alert-actions-{alert["id"]}"]')

    acknowledged = "Acknowledged by Priya Patel"
    listing = page.message_with(title, ".msg.ephemeral", also=acknowledged)  # the list, replaced in place
    assert f"alert-actions-{alert['id']}" not in [b["block"] for b in listing["buttons"] if b["text"] == "Acknowledge"]
    for channel in ("C0SECURITY", "C0AIALERTS"):
        page.go(channel)
        card = page.message_with(title, also=acknowledged)
        assert "(edited)" in card["text"]
        assert not [b for b in card["buttons"] if b["text"] == "Acknowledge"]


def test_the_approver_approves_from_the_dm_and_the_employee_is_told(page):
    page.open("U0MANAGER", "D0MANAGER")
    request = page.message_with("Reimbursement request from Alice Smith")
    assert "42.50 USD" in request["text"] and [b["text"] for b in request["buttons"]] == ["Approve", "Reject"]
    page.click('#messages button[data-action-id="toktra_reimbursement_approve"]')
    decided = page.message_with("Reimbursement request from Alice Smith", also="Approved by Marcus Chen")
    assert decided["buttons"] == []

    page.act_as("U0ALICE")  # Alice's own DM with Toktra
    page.until(lambda d: d.find_element(By.CSS_SELECTOR, "a.active[data-conversation='D0ALICE']"))
    notice = page.message_with("was approved by Marcus Chen")
    assert "42.50 USD" in notice["text"]


def test_the_home_tab_shows_the_persons_usage_budget_and_alerts(page, service):
    title = "Key pasted into the Home tab test"
    service.fire_alert("critical", title)
    page.open("U0ADMIN", "home")  # Slack's app_home_opened; the app publishes the view through its outbox
    home = page.message_with("Toktra for Priya Patel", also=title)
    assert "Your usage this period" in home["text"] and "Budget" in home["text"]
    assert "Acknowledge with reason…" in [b["text"] for b in home["buttons"]]
    page.click('#messages .msg.home button[data-action-id="toktra_alert_acknowledge_with_reason"]')
    page.until(lambda d: not d.find_element(By.ID, "modal").get_attribute("hidden"))
    assert "Acknowledge alert" in page.driver.find_element(By.ID, "modal-title").text
    Select(page.driver.find_element(By.CSS_SELECTOR, '#modal select[data-action-id="reason"]')).select_by_value(
        "false_positive")
    page.driver.find_element(By.CSS_SELECTOR, '#modal textarea[data-action-id="note"], '
                                              '#modal input[data-action-id="note"]').send_keys("A test key.")
    page.click("#modal-submit")
    page.until(lambda d: d.find_element(By.ID, "modal").get_attribute("hidden"))
    page.until(lambda d: title not in d.find_element(By.ID, "messages").text)  # the tab is republished
    page.go("C0SECURITY")
    page.message_with(title, also="(False positive: “A test key.”)")  # and every copy of the card


def test_a_mention_is_answered_in_its_thread(page):
    page.open("U0CAROL", "C0GENERAL")
    page.type("@Toktra what can you do?")
    page.until(lambda d: "/toktra-usage" in d.find_element(By.CSS_SELECTOR, "#messages details.thread").text)
    assert "1 reply" in page.driver.find_element(By.CSS_SELECTOR, "#messages details.thread summary").text


LAYOUTS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_layout_holds_at_desktop_and_phone_widths(page, layout):
    width, height = LAYOUTS[layout]
    page.driver.set_window_size(width, height)
    page.driver.get(f"{page.service.sandbox}/sandbox#user=U0ADMIN&c=C0AIALERTS")  # a link to one conversation
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .bk-actions"))  # alert cards with buttons
    page.type("/toktra-budget")  # and a card with a code block
    page.message_with("Budget Status", ".msg.ephemeral")
    geometry = page.driver.execute_script("""
        const rect = (sel) => document.querySelector(sel).getBoundingClientRect().toJSON();
        const buttons = [...document.querySelectorAll('#messages .bk-button')].map(b => b.getBoundingClientRect().right);
        return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
                innerHeight: window.innerHeight, sidebar: rect('#sidebar'), composer: rect('#composer'),
                messages: rect('#messages'), widestButton: Math.max(...buttons),
                pres: [...document.querySelectorAll('#messages pre')].map(p => p.getBoundingClientRect().right)};
    """)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.driver.save_screenshot(str(SCREENSHOTS / f"sandbox-{layout}.png"))
    width = geometry["innerWidth"]
    assert geometry["scrollWidth"] <= width, "the page scrolls sideways"
    assert 0 <= geometry["composer"]["top"] and geometry["composer"]["bottom"] <= geometry["innerHeight"]
    assert geometry["composer"]["right"] <= width
    assert geometry["widestButton"] <= width
    assert all(right <= width for right in geometry["pres"])
    if layout == "desktop":
        assert geometry["sidebar"]["left"] == 0 and geometry["sidebar"]["width"] >= 200
        assert geometry["messages"]["left"] >= geometry["sidebar"]["right"]
    else:
        assert geometry["sidebar"]["right"] <= 0, "the sidebar is tucked away on a phone"
        assert geometry["messages"]["left"] == 0 and geometry["messages"]["width"] == width
        page.driver.find_element(By.ID, "menu").click()
        page.until(lambda d: d.execute_script("return document.getElementById('sidebar').getBoundingClientRect().left") == 0)
        page.driver.save_screenshot(str(SCREENSHOTS / "sandbox-phone-menu.png"))
        page.driver.find_element(By.CSS_SELECTOR, 'a[data-conversation="C0SECURITY"]').click()
        page.until(lambda d: d.find_element(By.ID, "title").text == "# security-alerts")
        page.until(lambda d: d.execute_script("return document.getElementById('sidebar').getBoundingClientRect().right") <= 0)


def test_sandbox_endpoints_explain_bad_input(service):
    bad = requests.post(f"{service.sandbox}/sandbox/api/send", json={"user": "U0NOBODY", "conversation": "C0GENERAL",
                                                                      "text": "hi"}, timeout=10)
    assert bad.status_code == 400 and "unknown user 'U0NOBODY'" in bad.json()["error"]
    empty = requests.post(f"{service.sandbox}/sandbox/api/send", data="[1]", timeout=10)
    assert empty.status_code == 400 and "JSON object" in empty.json()["error"]
    click = requests.post(f"{service.sandbox}/sandbox/api/click", json={"user": "U0ADMIN", "conversation": "C0GENERAL"},
                          timeout=10)
    assert click.status_code == 400 and "action_id" in click.json()["error"]
    messages = requests.get(f"{service.sandbox}/_emulator/messages/security-alerts", timeout=10).json()
    assert messages["channel"] == "C0SECURITY" and json.dumps(messages["messages"])
