"""Evidence for answers: automatic evidence from providers, and uploaded files.

Files are checked (size, extension, content signature, no path tricks), stored under the
instance folder with a random name (never under the web root), and served only through views
that look the record up with tenant scoping (owner institution) or as an auditor.
"""
from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from core import tenancy
from core.extensions import db
from core.models.compliance import Assessment, Clause, EvidenceFile
from core.plugin_api import Evidence, EvidenceContext, EvidenceProvider
from core.services.errors import ValidationFailed

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# extension -> (content type, accepted leading bytes; empty: any text without NUL bytes)
ALLOWED_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", (b"PK\x03\x04",)),
    "txt": ("text/plain; charset=utf-8", ()),
    "csv": ("text/csv; charset=utf-8", ()),
}


# --- automatic evidence ---------------------------------------------------------------------

@dataclass
class AutomaticEvidence:
    clause: str
    title: str
    summary: str
    ok: bool | None


def providers_for(institution_slug: str | None) -> list[EvidenceProvider]:
    """Core's providers and those of the plugin owning ``institution_slug``, checked."""
    from core.plugins import state

    caller = state().scoped_hook("register_compliance_evidence", institution_slug)
    found = []
    for impl in reversed(caller.get_hookimpls()):
        for provider in impl.function() or []:
            if not isinstance(provider, EvidenceProvider):
                log.error("plugin %s: register_compliance_evidence returned %r", impl.plugin_name, provider)
                continue
            found.append(provider)
    return found


def automatic_evidence(assessment: Assessment) -> dict[str, list[dict]]:
    """Compute every provider's evidence for the assessment's institution and period.

    Runs scoped to the assessment's institution; a failing provider is logged and reported as
    unavailable. Returns {clause key: [{"title", "summary", "ok"}]}, JSON-ready.
    """
    from core.plugins import slug_for_id

    catalogue = assessment.catalogue
    keys = {clause.key for clause in catalogue.clauses}
    context = EvidenceContext(assessment.institution_id, assessment.period_start, assessment.period_end)
    result: dict[str, list[dict]] = {}
    for provider in providers_for(slug_for_id(assessment.institution_id)):
        if provider.clause not in keys or provider.catalogue not in (None, catalogue.code):
            continue
        with tenancy.acting_for(assessment.institution_id):
            try:
                evidence = provider.compute(context)
            except Exception:
                log.exception("evidence provider for clause %s failed", provider.clause)
                evidence = Evidence(_l("Not available: the computation failed."), None)
        result.setdefault(provider.clause, []).append(
            {"title": str(provider.title), "summary": str(evidence.summary), "ok": evidence.ok})
    return result


# --- uploaded files -------------------------------------------------------------------------

def storage_dir(institution_id: int) -> Path:
    """Where an institution's evidence files live: under the instance folder, outside the web root."""
    folder = Path(current_app.instance_path) / "compliance-evidence" / str(int(institution_id))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"file": _l("Choose a file to upload.")})
    unsafe = ("/" in name or "\\" in name or ".." in name or name.startswith(".")
              or any(ord(ch) < 32 for ch in name) or ":" in name)
    if unsafe or len(name) > 200:
        raise ValidationFailed({"file": _l("The file name may not contain a path, \"..\", a colon or "
                                           "control characters, nor start with a dot. Rename the file.")})
    return name


def _check_type(name: str, head: bytes) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED_TYPES:
        raise ValidationFailed({"file": _l("Files of this type are not accepted. Accepted: %(types)s.",
                                           types=", ".join(sorted(ALLOWED_TYPES)))})
    content_type, signatures = ALLOWED_TYPES[extension]
    matches = any(head.startswith(s) for s in signatures) if signatures else b"\x00" not in head
    if not matches:
        raise ValidationFailed({"file": _l("The content of the file is not a %(type)s file.",
                                           type=extension.upper())})
    return content_type


def _read_limited(stream, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed({"file": _l("The file is larger than %(mb)s MB.",
                                           mb=f"{limit / (1024 * 1024):g}")})
    if not data:
        raise ValidationFailed({"file": _l("The file is empty.")})
    return data


def store_file(*, assessment: Assessment, clause: Clause, filename: str, stream, by) -> EvidenceFile:
    """Check and store an uploaded evidence file for one clause; one transaction.

    Refused (``ValidationFailed`` on ``file``): an unsafe name, a type not in ``ALLOWED_TYPES`` or
    whose content does not match its extension, an empty file, or one above
    ``MICROFIN_EVIDENCE_MAX_BYTES``. Nothing is written when refused.
    """
    from core.services.compliance.assessments import check_editable

    check_editable(assessment, by)
    name = _check_name(filename)
    limit = current_app.config.get("MICROFIN_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES)
    data = _read_limited(stream, limit)
    content_type = _check_type(name, data[:512])
    stored_name = uuid.uuid4().hex
    path = storage_dir(assessment.institution_id) / stored_name
    record = EvidenceFile(assessment_id=assessment.id, clause_id=clause.id, original_name=name,
                          stored_name=stored_name, content_type=content_type, size=len(data),
                          uploaded_by_id=by.id, institution_id=assessment.institution_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    try:
        db.session.add(record)
        db.session.commit()
    except Exception:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    return record


def file_path(record: EvidenceFile) -> Path:
    return storage_dir(record.institution_id) / record.stored_name


def delete_file(*, record: EvidenceFile, assessment: Assessment, by) -> None:
    """Remove an evidence file while the assessment can still be edited."""
    from core.services.compliance.assessments import check_editable

    check_editable(assessment, by)
    path = file_path(record)
    db.session.delete(record)
    db.session.commit()
    path.unlink(missing_ok=True)
