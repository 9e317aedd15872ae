"""Errors services raise; views turn them into field errors, the API into problem+json."""
from __future__ import annotations


class ValidationFailed(Exception):
    """Input broke a rule. ``errors`` maps a field name (or "" for the whole form) to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(Exception):
    """The record does not exist, or belongs to another institution (the same to the caller)."""
