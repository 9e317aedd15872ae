"""The ``sort`` query parameter of the list pages: a whitelisted column key, ``-`` in front for
descending (``sort=-created_at``). A pure helper: each list declares its keys and default.

An unknown key is ignored, never an error: the list is shown in its default order and
``Sort.refused`` holds the key, so the page can say why (a link saved before a column was
renamed keeps working). Every list breaks ties on the record id, in the same direction, so the
order is total and keyset pages never shuffle or repeat a row.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False
    #: the key asked for and ignored (not sortable on this list), or ""
    refused: str = ""

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key

    def toggled(self, key: str) -> str:
        """The ``sort`` value of a header link: the other direction of the current key,
        ascending for any other key."""
        if key == self.key:
            return key if self.descending else f"-{key}"
        return key


def parse_sort(raw: str | None, allowed, default: str) -> Sort:
    """``raw`` (``key`` or ``-key``) when ``key`` is in ``allowed``; else ``default`` (same
    syntax), remembering a non-empty refused value."""
    text = (raw or "").strip()
    key = text.removeprefix("-")
    if key and key in allowed:
        return Sort(key, text.startswith("-"))
    fallback = Sort(default.removeprefix("-"), default.startswith("-"))
    return Sort(fallback.key, fallback.descending, refused=text[:40] if text else "")
