"""The audit trail as CSV for an institution's admin (cells that cannot execute in a spreadsheet)."""
from __future__ import annotations

import csv
import io
import json

from core.models.audit import AuditEntry
from core.services import audit
from core.services.spreadsheet_cells import csv_row

AUDIT_COLUMNS = ("id", "at", "actor", "action", "record_type", "record_id", "changes")
AUDIT_EXPORT_LIMIT = 10_000


def to_csv(entries: list[AuditEntry]) -> str:
    """One line per entry, the changes as JSON text; newest first as in the trail."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        writer.writerow(csv_row([entry.id, entry.at.isoformat(), entry.actor, entry.action,
                                 entry.record_type, entry.record_id if entry.record_id is not None else "",
                                 json.dumps(audit.opened(entry), ensure_ascii=False, default=str)]))
    return out.getvalue()
