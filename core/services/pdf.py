"""The start of every PDF the application writes (fpdf2, with the DejaVu font in ``core/fonts``,
which covers Dutch, French and German letters)."""
from __future__ import annotations

from pathlib import Path

FONTS = Path(__file__).resolve().parent.parent / "fonts"


def new_document():
    """An A4 document with its first page and DejaVu (regular and bold) loaded."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    return pdf
