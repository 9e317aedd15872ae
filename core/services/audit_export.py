"""The audit trail as CSV for an institution's admin (cells that cannot execute in a spreadsheet).

Written for people like every export (core.services.export_words): translated titles; the action
and the kind of record as a label followed by the code; the changes in words ("Field: old → new")
followed by the recorded JSON. The web layer passes the labellers, which know the forms' labels."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _

from core.models.audit import AuditEntry
from core.services.spreadsheet_cells import csv_row

AUDIT_COLUMNS = ("id", "at", "actor", "action", "record_type", "record_id", "changes")
AUDIT_EXPORT_LIMIT = 10_000


@dataclass(frozen=True)
class AuditWords:
    """How an entry's codes read: the action, the kind of record, the changes as (field, text) pairs."""

    action: Callable[[str], str] = str
    record: Callable[[str], str] = str
    changes: Callable[[AuditEntry], list[tuple[str, str]]] = lambda entry: []


def header() -> list[str]:
    """The translated header row."""
    code = lambda title: _("%(column)s (code)", column=title)  # noqa: E731
    return [_("Entry"), _("When"), _("Who"), _("What"), code(_("What")), _("Record"), code(_("Record")),
            _("Record number"), _("Changes"), code(_("Changes"))]


def to_csv(entries: list[AuditEntry], words: AuditWords = AuditWords()) -> str:
    """One line per entry, newest first as in the trail."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header())
    for entry in entries:
        changes = "; ".join(f"{field}: {text}" for field, text in words.changes(entry))
        writer.writerow(csv_row([
            entry.id, entry.at.isoformat(), entry.actor, words.action(entry.action), entry.action,
            words.record(entry.record_type), entry.record_type,
            entry.record_id if entry.record_id is not None else "", changes,
            json.dumps(entry.changes, ensure_ascii=False, default=str)]))
    return out.getvalue()
