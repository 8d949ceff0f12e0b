"""Fault-injection harness: Toktra on a private Redis and PostgreSQL, its worker as a subprocess, Slack emulated.

Everything here is observed from outside, the way an operator sees it: alerts go in through the REST
API, and what reaches Slack is read from the emulator's recorded posts (with their arrival times).
The faults are done to real processes: Redis is restarted, paused (SIGSTOP) and resumed; PostgreSQL is
stopped and started; the worker (or only the process making a Slack call) is SIGKILLed; the emulator
answers 429, 5xx, internal_error, stalls, or drops its answer after posting.

Nothing here touches the shared PostgreSQL (5432) or Redis (6379): both services are started on free
loopback ports, in temporary directories, and every process started is ended at teardown or at exit.
The benchmark `bench/fanout.py` uses the same harness.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from processes import PrivatePostgres, PrivateRedis, WorkerProcess, wait_until

# Slack's pace per channel; a post may arrive this much early (scheduling and loopback jitter).
PACE_SECONDS = 1.0
PACE_TOLERANCE = 0.015
# The bound: after a fault ends, the backlog moves again within this many seconds.
RECOVERY_SECONDS = 30.0

# The shortest intervals the worker allows, so a test waits seconds, not minutes.
WORKER_TIMINGS = {
    "OUTBOX_TICK_SECONDS": "0.2",
    "OUTBOX_LEASE_SECONDS": "10",
    "OUTBOX_STALE_SECONDS": "10",
    "OUTBOX_AMBIGUOUS_DELAY_SECONDS": "2",
    "RQ_MAINTENANCE_INTERVAL": "5",
    "RQ_WORKER_CLASS": "simple",
}
AMBIGUOUS_DELAY_SECONDS = float(WORKER_TIMINGS["OUTBOX_AMBIGUOUS_DELAY_SECONDS"])

SEVERITIES = ("low", "medium", "high", "critical")
# Four channels, each taking two severities, so every alert reaches exactly two channels.
CHANNEL_ROUTES = {
    "C0REL1": ("rel-one", ("low", "medium")),
    "C0REL2": ("rel-two", ("high", "critical")),
    "C0REL3": ("rel-three", ("low", "critical")),
    "C0REL4": ("rel-four", ("medium", "high")),
}
TAG = re.compile(r"\[rel-(\d+)\]")


# --------------------------------------------------------------------------------- Toktra


@dataclass
class Fired:
    """One POST /api/v1/alerts: its tag, severity, HTTP status, and when it was answered."""

    number: int
    severity: str
    status: int
    at: float
    body: dict = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        """The API took the alert (a 2xx answer)."""
        return 200 <= self.status < 300


class Toktra:
    """Toktra on the private services: the web app in this process (Flask test client), the worker as a subprocess.

    Set up the way an operator would: migrations, `toktra create-org`, `create-api-key`,
    `connect-workspace` (single-workspace mode with SLACK_BOT_TOKEN), and alert channels through the API.
    """

    def __init__(self, redis: PrivateRedis, postgres: PrivatePostgres, database: str, workdir: Path,
                 channels: dict[str, tuple[str, tuple[str, ...]]] | None = None, timings: dict | None = None):
        from cryptography.fernet import Fernet

        from devtools.slack_emulator import SlackEmulator

        self.redis, self.postgres, self.workdir = redis, postgres, workdir
        self.database_url = postgres.url(database)
        self.channels = channels or CHANNEL_ROUTES
        self.slack = SlackEmulator().start()
        self.team = self.slack.add_team("T0REL", "Reliability")
        for channel_id, (name, _) in self.channels.items():
            self.slack.add_channel(channel_id, name)
        self.secrets = {
            "SECRET_KEY": "reliability-secret-key",
            "TOKTRA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SLACK_SIGNING_SECRET": "reliability-signing-secret",
            "PUBLIC_BASE_URL": "http://toktra.reliability",
        }
        self.app = self._make_app()
        self.client = self.app.test_client()
        self.api_key = self._set_up_org()
        self.worker = WorkerProcess(self._worker_env(WORKER_TIMINGS if timings is None else timings),
                                    workdir / "worker.log")
        self.fired: list[Fired] = []

    def _make_app(self):
        from app import create_app
        from app.config import normalize_database_url

        # TESTING off: an error inside a request becomes the answer a real client gets, not an exception here.
        return create_app({
            **self.secrets,
            "TESTING": False,
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(self.database_url),
            "REDIS_URL": self.redis.url(),
            "SLACK_API_URL": self.slack.url,
            "SLACK_BOT_TOKEN": self.team.bot_token,
        })

    def cli(self, *args: str) -> str:
        """Run `flask toktra ...` against the private database; returns its output (raises on failure)."""
        result = self.app.test_cli_runner().invoke(args=["toktra", *args])
        if result.exit_code != 0:
            raise RuntimeError(f"toktra {' '.join(args)} failed: {result.output}{result.exception or ''}")
        return result.output.strip()

    def _set_up_org(self) -> str:
        self.cli("create-org", "--name", "Reliability")
        key = self.cli("create-api-key", "--org", "Reliability", "--name", "reliability tests").splitlines()[-1]
        self.cli("connect-workspace", "--org", "Reliability")
        for channel_id, (name, severities) in self.channels.items():
            response = self.client.post("/api/v1/alert-channels", headers={"Authorization": f"Bearer {key}"},
                                        json={"channel_id": channel_id, "channel_name": name,
                                              "severities": list(severities)})
            if response.status_code != 201:
                raise RuntimeError(f"routing #{name} failed: {response.status_code} {response.get_data(as_text=True)}")
        return key

    def _worker_env(self, timings: dict) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TOKTRA_", "SLACK_", "DATABASE_", "REDIS_", "OUTBOX_", "RQ_"))}
        env.update(self.secrets)
        env.update(timings)
        env.update({
            "TOKTRA_ENV": "development",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url(),
            "SLACK_API_URL": self.slack.url,
            "SLACK_BOT_TOKEN": self.team.bot_token,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        })
        return env

    # ----------------------------------------------------------------- intake

    def fire(self, count: int, start: int | None = None) -> list[Fired]:
        """POST count alerts (severities in turn), each tagged [rel-N]; returns them (accepted or not)."""
        if start is None:
            start = max((f.number for f in self.fired), default=-1) + 1
        fired = []
        for number in range(start, start + count):
            fired.append(self.fire_one(number, SEVERITIES[number % len(SEVERITIES)]))
        return fired

    def fire_one(self, number: int, severity: str) -> Fired:
        """POST one alert tagged [rel-number] through the REST API, as a client would."""
        response = self.client.post(
            "/api/v1/alerts", headers={"Authorization": f"Bearer {self.api_key}"},
            json={"severity": severity, "policy": "reliability", "title": f"Leak check [rel-{number}]"})
        body = response.get_json(silent=True)
        fired = Fired(number, severity, response.status_code, time.monotonic(), body if isinstance(body, dict) else {})
        self.fired.append(fired)
        return fired

    # ----------------------------------------------------------------- what reached Slack

    def expected(self) -> dict[str, set[int]]:
        """For each channel, the numbers of the accepted alerts it must receive."""
        accepted = {}
        for fired in self.fired:
            if fired.accepted:
                accepted[fired.number] = fired.severity
        return {channel: {n for n, severity in accepted.items() if severity in severities}
                for channel, (_, severities) in self.channels.items()}

    def delivered(self) -> dict[str, list[int]]:
        """For each channel, the alert numbers of its posts, in arrival order (a repeat appears twice)."""
        found: dict[str, list[int]] = {channel: [] for channel in self.channels}
        for post in sorted(self.slack.posts(), key=lambda p: p.at):
            match = TAG.search(post.text)
            if match and post.channel in found:
                found[post.channel].append(int(match.group(1)))
        return found

    def posts_expected(self) -> int:
        """How many posts a complete delivery makes."""
        return sum(len(numbers) for numbers in self.expected().values())

    def complete(self) -> bool:
        """Every accepted alert is in every matching channel."""
        delivered = self.delivered()
        return all(numbers <= set(delivered[channel]) for channel, numbers in self.expected().items())

    def posted_count(self) -> int:
        """How many tagged alert posts Slack accepted so far."""
        return sum(len(numbers) for numbers in self.delivered().values())

    def posts_after(self, moment: float):
        """The alert posts Slack accepted after moment (time.monotonic)."""
        return [p for p in self.slack.posts() if p.at > moment and TAG.search(p.text)]

    def remaining_per_channel(self) -> int:
        """The most posts still owed to one channel."""
        delivered = self.delivered()
        return max((len(numbers - set(delivered[c])) for c, numbers in self.expected().items()), default=0)

    # ----------------------------------------------------------------- waiting

    def wait_for_posts(self, count: int, timeout: float = 60) -> bool:
        """Wait until at least count alert posts reached Slack."""
        return bool(wait_until(lambda: self.posted_count() >= count, timeout))

    def recovery_after(self, fault_end: float) -> tuple[float | None, list[str]]:
        """Wait for the backlog to move after a fault ended at fault_end, then for it to finish.

        Returns (seconds from the fault's end to the next post, or None) and the problems seen: no post
        within RECOVERY_SECONDS while posts were owed, or an unfinished delivery after a generous bound.
        """
        problems = []
        recovered = None
        if not self.complete():
            first = wait_until(lambda: self.posts_after(fault_end), fault_end + RECOVERY_SECONDS - time.monotonic())
            if first:
                recovered = min(p.at for p in first) - fault_end
            else:
                problems.append(f"nothing reached Slack within {RECOVERY_SECONDS:.0f}s of the fault's end "
                                f"({self.posted_count()} of {self.posts_expected()} posts made)")
                return None, problems
        bound = RECOVERY_SECONDS + 2 * PACE_SECONDS * self.remaining_per_channel() + 15
        if not wait_until(self.complete, bound, interval=0.1):
            problems.append(f"delivery unfinished {bound:.0f}s after the backlog resumed "
                            f"({self.posted_count()} of {self.posts_expected()} posts made)")
        return recovered, problems

    def begin(self, alerts: int, first_posts: int = 3) -> list[Fired]:
        """Start the worker, fire `alerts` alerts (all must be accepted), wait until the first posts reached Slack."""
        self.worker.start()
        fired = self.fire(alerts)
        refused = [f"the API answered {f.status} to alert {f.number}: {f.body}" for f in fired if not f.accepted]
        if refused:
            raise AssertionError(self.report(refused))
        if not self.wait_for_posts(first_posts):
            raise AssertionError(self.report([f"fewer than {first_posts} posts reached Slack in 60s, before any fault"]))
        return fired

    def kill_mid_post(self, whole_worker: bool, lands: bool, stall_seconds: float = 1.0) -> int:
        """SIGKILL the worker (or only its process making the post) while Slack holds a chat.postMessage.

        With lands=True Slack then handles the held post (it is in the channel; the worker never heard
        of it); with lands=False it never reaches the channel. Returns the number of the alert in flight.
        """
        self.slack.stall("chat.postMessage", stall_seconds, handle=lands)
        held = wait_until(self.slack.held_calls, 60, interval=0.01)
        if not held:
            raise AssertionError(self.report(["no chat.postMessage reached Slack to be interrupted"]))
        match = TAG.search(str(held[0].params.get("text", "")))
        poster = self.worker.poster(self.slack.port)
        if match is None or poster is None:
            raise AssertionError(self.report([f"the post in flight ({held[0].params.get('text')!r}) was not an "
                                              "alert made by the worker's processes"]))
        if whole_worker:
            self.worker.kill()
        elif poster.pid == self.worker.main.pid:
            raise AssertionError(self.report(["the worker's main process made the post itself: there is no work "
                                              "horse to kill"]))
        else:
            self.worker.kill_process(poster)
        wait_until(lambda: not self.slack.held_calls(), 30)
        return int(match.group(1))

    def verdict(self, fault_end: float, ambiguous: set[int] = frozenset(), settle: float = 2.0,
                problems: list[str] = ()) -> tuple[list[str], float | None]:
        """After a fault ended at fault_end: wait for recovery and completion, let late copies show, then
        return every problem seen (plus `problems` found by the test) and the recovery time."""
        recovered, found = self.recovery_after(fault_end)
        self.settle(settle)
        exited = self.worker.exited_by_itself()
        if exited is not None:  # nothing restarts it here: a worker must outlive the faults it meets
            found.insert(0, f"the worker process exited by itself (status {exited}); see its log")
        return [*problems, *found, *self.problems(ambiguous)], recovered

    def settle(self, seconds: float = 2.0) -> None:
        """Let late duplicates show up before counting (a quiet period, not an assertion)."""
        time.sleep(seconds)

    # ----------------------------------------------------------------- the invariants

    def problems(self, ambiguous: set[int] = frozenset(), pace: float = PACE_SECONDS) -> list[str]:
        """Everything that breaks the delivery invariants (empty when all is well).

        Every accepted alert is in every matching channel; nothing else; each exactly once, except the
        alerts in `ambiguous` (a post whose answer was lost), which may appear twice, the second copy
        no sooner than the ambiguous-send delay; no channel gets two posts closer than its pace; no
        post lands inside a hold a 429 announced.
        """
        found = []
        expected, delivered = self.expected(), self.delivered()
        posts_by_key: dict[tuple[str, int], list] = {}
        for post in sorted(self.slack.posts(), key=lambda p: p.at):
            match = TAG.search(post.text)
            if match:
                posts_by_key.setdefault((post.channel, int(match.group(1))), []).append(post)
        for channel, numbers in expected.items():
            name = self.channels[channel][0]
            got = delivered[channel]
            missing = sorted(numbers - set(got))
            if missing:
                found.append(f"#{name}: lost alerts {missing}")
            unexpected = sorted(set(got) - numbers)
            if unexpected:
                found.append(f"#{name}: alerts that should not be there {unexpected}")
            for number in sorted(set(got)):
                copies = got.count(number)
                allowed = 2 if number in ambiguous else 1
                if copies > allowed:
                    found.append(f"#{name}: alert {number} posted {copies} times (at most {allowed} allowed)")
                elif copies == 2:
                    first, second = posts_by_key[(channel, number)][:2]
                    if second.at - first.at < AMBIGUOUS_DELAY_SECONDS - PACE_TOLERANCE:
                        found.append(f"#{name}: ambiguous alert {number} re-posted {second.at - first.at:.2f}s "
                                     f"after the first copy (the delay is {AMBIGUOUS_DELAY_SECONDS:g}s)")
        for a, b in self.slack.posts_closer_than(pace - PACE_TOLERANCE):
            found.append(f"#{self.channels.get(a.channel, (a.channel,))[0]}: two posts {b.at - a.at:.3f}s apart "
                         f"({a.text[-12:]!r}, {b.text[-12:]!r})")
        for post in self.slack.posts_inside_holds():
            hold = post.inside_hold
            found.append(f"#{self.channels.get(post.channel, (post.channel,))[0]}: post {post.at - hold.start:.3f}s "
                         f"after a 429 with Retry-After {hold.retry_after}")
        return found

    def report(self, problems: list[str], recovered: float | None = None) -> str:
        """A failure message: the problems, the recovery time, and the worker's last log lines."""
        lines = [f"{len(problems)} problem(s):", *[f"  - {p}" for p in problems[:40]]]
        if len(problems) > 40:
            lines.append(f"  ... and {len(problems) - 40} more")
        if recovered is not None:
            lines.append(f"backlog resumed {recovered:.1f}s after the fault ended")
        lines += ["--- worker log (last lines) ---", self.worker.log_tail()]
        return "\n".join(lines)

    def close(self) -> None:
        """Stop the worker and the emulator, and release database connections."""
        from app.extensions import db

        self.worker.close()
        self.slack.stop()
        with contextlib.suppress(Exception), self.app.app_context():
            db.engine.dispose()


def slack_errors_scenario(toktra: Toktra, failures: list[dict], seconds: float = 4.0) -> tuple[list[str], float | None]:
    """Deliver while Slack answers chat.postMessage to some channels with errors for a while; the verdict.

    Each dict holds fail()'s arguments for one channel. The errors start once delivery is under way and
    last `seconds` after every failing channel got one; then Slack is well again and the fault has ended.
    Slack posted nothing for those calls, so every alert must appear exactly once.
    """
    toktra.begin(alerts=16)
    for failure in failures:
        toktra.slack.fail("chat.postMessage", times=None, **failure)
    failing = {f["channel"] for f in failures}

    def every_channel_failed():
        return failing <= {c.params.get("channel") for c in toktra.slack.calls_to("chat.postMessage")
                           if c.response and not c.response.get("ok")}

    problems = [] if wait_until(every_channel_failed, 60) else ["the worker did not post to every failing channel "
                                                                "within 60s"]
    time.sleep(seconds)  # the outage's length, not a wait for something to happen
    toktra.slack.clear_failures()
    return toktra.verdict(time.monotonic(), problems=problems)


def migrate_template(postgres: PrivatePostgres, name: str = "toktra_template") -> str:
    """Create a database migrated to the latest schema (`flask db upgrade`) to copy for each test."""
    from flask_migrate import upgrade

    from app import create_app
    from app.config import normalize_database_url
    from app.extensions import db

    postgres.execute(f'CREATE DATABASE "{name}"')
    app = create_app({"SECRET_KEY": "x", "TOKTRA_ENCRYPTION_KEY": _any_fernet_key(),
                      "SQLALCHEMY_DATABASE_URI": normalize_database_url(postgres.url(name))})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return name


def _any_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def copy_database(postgres: PrivatePostgres, template: str, name: str) -> str:
    """A fresh database copied from the migrated template; returns its name."""
    postgres.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name
