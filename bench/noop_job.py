"""The no-op RQ job, alone in a module that imports nothing: a forking worker imports a job's module in
every work-horse, so the anchor must not carry Flask and Bolt with it."""


def noop() -> None:
    """RQ's own cost of a job: nothing to do."""
