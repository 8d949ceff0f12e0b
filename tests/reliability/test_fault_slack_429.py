"""Slack enforcing its per-channel pace and answering 429 with a fractional Retry-After."""
import time

from harness import PACE_SECONDS, PACE_TOLERANCE, wait_until

INJECTED = {"C0REL1": ("1.5", 2), "C0REL2": ("2.5", 1)}  # channel: (Retry-After, how many 429s in a row)


def test_429_with_fractional_retry_after_holds_only_that_channel_and_never_posts_early(toktra):
    slack = toktra.slack
    slack.enforce_channel_rate(PACE_SECONDS - PACE_TOLERANCE)  # as Slack does: a post too soon is a 429
    toktra.begin(alerts=16)
    for channel, (retry_after, times) in INJECTED.items():
        slack.fail("chat.postMessage", retry_after=float(retry_after), channel=channel, times=times)

    def injected_holds():
        holds = [h for h in slack.holds() if INJECTED.get(h.channel, ("",))[0] == h.retry_after]
        return holds if len(holds) == sum(times for _, times in INJECTED.values()) else None

    holds = wait_until(injected_holds, 60) or []
    problems = [] if holds else ["the worker did not post to the rate-limited channels again within 60s"]
    fault_end = max((h.end for h in holds), default=time.monotonic())
    problems, recovered = toktra.verdict(fault_end, problems=problems)

    too_soon = [h for h in slack.holds() if h not in holds]
    if too_soon:
        problems.append(f"{len(too_soon)} post(s) came sooner than their channel's pace and got a 429")
    # A hold is one channel's: the others, still owed posts, go on meanwhile.
    posts = slack.posts()
    for hold in holds:
        others = [p for p in posts if p.channel != hold.channel]
        if any(p.at >= hold.end for p in others) and not any(hold.start < p.at < hold.end for p in others):
            problems.append(f"no other channel got a post during the {hold.retry_after}s hold of {hold.channel}")
    assert not problems, toktra.report(problems, recovered)
