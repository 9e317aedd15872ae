"""Helpers shared by the institution's compliance pages and the federation's."""
from __future__ import annotations

from flask import make_response

from core.services.compliance import reports


def language() -> str:
    from core.web import select_locale

    return select_locale()


def attach_errors(form, errors: dict) -> None:
    """Put service errors next to their fields ("" or unknown fields: at the top of the form)."""
    for field_name, message in errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def export_response(report, kind: str):
    """The report as a PDF or CSV download, in the interface language."""
    lang = language()
    name = (f"self-assessment-{report.institution_name.get('en', 'institution')}-"
            f"{report.assessment.period_start.isoformat()}-{report.assessment.period_end.isoformat()}")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)
    if kind == "pdf":
        response = make_response(reports.to_pdf(report, lang))
        response.mimetype = "application/pdf"
    else:
        response = make_response("\ufeff" + reports.to_csv(report, lang))
        response.mimetype = "text/csv"
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response
