"""The assessment as CSV and as PDF (fpdf2 with the DejaVu font shipped in ``core/fonts``), in the
language of the request. Pure Python: works on a fresh machine."""
from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

from core.models.compliance import MET, NOT_APPLICABLE, NOT_MET, PARTLY
from core.services.compliance.assessments import AssessmentView, missing_text, status_label
from core.services.spreadsheet_cells import csv_row
from core.services.pdf import new_document



def answer_label(answer: str | None) -> str:
    labels = {MET: _("Met"), PARTLY: _("Partly met"), NOT_MET: _("Not met"),
              NOT_APPLICABLE: _("Not applicable"), None: _("Not answered")}
    return labels.get(answer, answer)


def _answer(row) -> str | None:
    return row.answer.answer if row.answer else None


def to_csv(report: AssessmentView, language: str) -> str:
    """One line per clause: id, section, priority, text, answer, reason, comment, evidence."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Clause"), _("Section"), _("Priority"), _("Applies"), _("Text"), _("Answer"),
                     _("Reason"), _("Comment"), _("Evidence"), _("Links"), _("Files")])
    for row in report.rows:
        answer = row.answer
        writer.writerow(csv_row([
            row.clause.key, row.clause.section.title(language),
            _("yes") if row.clause.priority else _("no"), _("yes") if row.applicable else _("no"),
            row.clause.text(language), answer_label(_answer(row)),
            answer.reason if answer else "", answer.comment if answer else "",
            answer.evidence_text if answer else "", " ".join(answer.links) if answer else "",
            " ".join(f.original_name for f in row.files)]))
    return out.getvalue()


def _summary_lines(report: AssessmentView, language: str) -> list[str]:
    assessment, score = report.assessment, report.score
    lines = [
        f"{_('Institution')}: {report.institution_name.get(language) or report.institution_name.get('en', '')}",
        f"{_('Period')}: {assessment.period_start.isoformat()} – {assessment.period_end.isoformat()}",
        f"{_('Catalogue')}: {report.catalogue.title(language)} ({report.catalogue.code} {report.catalogue.version})",
        f"{_('Status')}: {status_label(assessment.status)}",
        f"{_('Overall')}: {score.overall.met}/{score.overall.applicable} "
        f"({score.overall.percent if score.overall.percent is not None else '-'}%)",
    ]
    for section in score.sections:
        tally = section.tally
        lines.append(f"  {section.key}. {section.section.title(language)}: {tally.met}/{tally.applicable}")
    lines.append(f"{_('Award test')}: " + (_("passed") if score.award else
                                         _("not passed") + f" ({missing_text(score)})"))
    if assessment.award_date:
        lines.append(f"{_('Awarded on')}: {assessment.award_date.isoformat()}; "
                     f"{_('valid until')}: {assessment.valid_until.isoformat()}; "
                     f"{_('progress report due')}: {assessment.progress_report_due.isoformat()}")
    return lines


def to_pdf(report: AssessmentView, language: str) -> bytes:
    """A plain, printable PDF of the assessment for the evaluator."""
    pdf = new_document()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, _("Code-of-conduct self-assessment"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    notice = report.catalogue.notices.get(language) or report.catalogue.notices.get("en")
    if notice:
        pdf.multi_cell(0, 5, notice, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 10)
    for line in _summary_lines(report, language):
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    section = None
    for row in report.rows:
        if row.clause.section.key != section:
            section = row.clause.section.key
            pdf.ln(3)
            pdf.set_font("DejaVu", "B", 11)
            pdf.multi_cell(0, 6, f"{section}. {row.clause.section.title(language)}", new_x="LMARGIN", new_y="NEXT")
        _clause_block(pdf, row, language)
    return bytes(pdf.output())


def _clause_block(pdf, row, language: str) -> None:
    pdf.set_font("DejaVu", "B", 9)
    flag = f" [{_('priority')}]" if row.clause.priority else ""
    pdf.multi_cell(0, 5, f"{row.clause.key}{flag}: {answer_label(_answer(row))}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, row.clause.text(language), new_x="LMARGIN", new_y="NEXT")
    answer = row.answer
    details = []
    if answer and answer.reason:
        details.append(f"{_('Reason')}: {answer.reason}")
    if answer and answer.comment:
        details.append(f"{_('Comment')}: {answer.comment}")
    if answer and answer.evidence_text:
        details.append(f"{_('Evidence')}: {answer.evidence_text}")
    if answer and answer.links:
        details.append(f"{_('Links')}: {' '.join(answer.links)}")
    if row.files:
        details.append(f"{_('Files')}: {', '.join(f.original_name for f in row.files)}")
    for item in row.automatic:
        details.append(f"{_('Automatic evidence')}: {item['title']}: {item['summary']}")
    for text in details:
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
