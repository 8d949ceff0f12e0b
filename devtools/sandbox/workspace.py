"""The demo Slack workspace: the demo organization's people as Slack users, and its alert channels."""
from __future__ import annotations

from dataclasses import dataclass

from app.services.demo import PEOPLE
from devtools.slack_emulator import SlackEmulator, Team

TEAM_ID = "T0DEMO"
TEAM_NAME = "Acme (demo)"
BOT_TOKEN = f"xoxb-{TEAM_ID}-sandbox"
SCOPES = ("app_mentions:read,chat:write,commands,channels:read,groups:read,im:read,im:write,"
          "users:read,users:read.email")


@dataclass(frozen=True)
class DemoChannel:
    """A channel of the demo workspace; severities routes alerts to it when the workspace is connected."""

    id: str
    name: str
    severities: tuple[str, ...] = ()
    topic: str = ""


CHANNELS = (
    DemoChannel("C0GENERAL", "general", (), "Company-wide announcements. Try /toktra-budget here."),
    DemoChannel("C0SECURITY", "security-alerts", ("high", "critical"), "High and critical Toktra alerts"),
    DemoChannel("C0AIALERTS", "ai-alerts", ("low", "medium", "high", "critical"), "Every Toktra alert"),
)


def demo_user_id(email: str) -> str:
    """The Slack user id of a demo person: U0 + the upper-cased local part (U0ADMIN, U0ALICE...)."""
    return "U0" + email.split("@")[0].upper().replace(".", "")


@dataclass(frozen=True)
class DemoUser:
    """A demo person as a Slack user, with their Toktra role (for the sandbox's 'you are' picker)."""

    id: str
    email: str
    name: str
    role: str


USERS = tuple(DemoUser(demo_user_id(email), email, name, role) for email, name, role, _ in PEOPLE)


def load_demo_workspace(emulator: SlackEmulator) -> Team:
    """Add the demo workspace to an emulator: the team, every demo user (with their DM with Toktra), the channels."""
    team = emulator.add_team(TEAM_ID, TEAM_NAME, bot_token=BOT_TOKEN, scope=SCOPES)
    for user in USERS:
        emulator.add_user(user.id, user.email, name=user.email.split("@")[0], real_name=user.name, team_id=TEAM_ID)
    for channel in CHANNELS:
        emulator.add_channel(channel.id, channel.name, team_id=TEAM_ID)
    return team
