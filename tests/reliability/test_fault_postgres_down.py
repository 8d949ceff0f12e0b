"""PostgreSQL stopped while alerts come in: the API says 503 (retry later), and what it accepted is delivered."""
import time


def test_postgres_stopped_during_intake_answers_503_and_delivers_what_was_accepted(toktra):
    toktra.begin(alerts=10, first_posts=2)
    toktra.postgres.stop("fast")
    during = toktra.fire(4)
    toktra.postgres.start()
    fault_end = time.monotonic()
    problems = [f"alert {f.number} answered {f.status} while PostgreSQL was down (503 expected: "
                f"{f.body.get('error', f.body)})" for f in during if f.status != 503]
    # A client retries what got 503; afterwards the API takes it again, and new alerts too.
    retried = [toktra.fire_one(f.number, f.severity) for f in during if not f.accepted]
    problems += [f"alert {f.number} answered {f.status} when retried after PostgreSQL came back"
                 for f in retried + toktra.fire(4) if not f.accepted]
    problems, recovered = toktra.verdict(fault_end, problems=problems)
    assert not problems, toktra.report(problems, recovered)
