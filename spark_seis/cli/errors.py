"""Errors a user can fix: printed as one line with what to do, no traceback."""
from __future__ import annotations


class UserError(Exception):
    """Raised for problems the user can fix (bad path, bad YAML key, no Java...)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} ({self.hint})" if self.hint else text
