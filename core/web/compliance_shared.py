"""Helpers shared by the institution's compliance pages and the federation's."""
from __future__ import annotations

from flask import make_response

from core.services.compliance import reports


def language() -> str:
    from core.web import select_locale

    return select_locale()




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
