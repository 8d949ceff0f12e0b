"""The one base of domain errors: what went wrong in words, and what kind of refusal it is (no HTTP here)."""
from __future__ import annotations

# The kinds of refusal; the web layer turns each into its status (app/errors.py, status_for).
INVALID, NOT_FOUND, FORBIDDEN, CONFLICT, UNAVAILABLE = "invalid", "not_found", "forbidden", "conflict", "unavailable"


class DomainError(ValueError):
    """A request the domain cannot honour; str() says what is wrong and what would be right."""

    def __init__(self, message: str, kind: str = INVALID):
        super().__init__(message)
        self.kind = kind
