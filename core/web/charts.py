"""Server-rendered SVG charts: plain shapes and text, readable when printed (no JavaScript)."""
from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from markupsafe import Markup

WIDTH = 640
BAR = 22
GAP = 8
LABEL_WIDTH = 260  # room for the longest translated label ("Moins de 30 ans au décaissement")


def bar_chart(title: str, rows: list[tuple[str, Decimal | int | None, str]]) -> Markup:
    """Horizontal bars: ``rows`` are (label, value, text shown); a None value (suppressed) draws no bar."""
    top = 28
    height = top + len(rows) * (BAR + GAP) + 4
    largest = max((float(v) for _, v, _ in rows if v is not None), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" aria-label="{escape(title, {chr(34): "&quot;"})}">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#000">{escape(title)}</text>']
    for index, (label, value, shown) in enumerate(rows):
        y = top + index * (BAR + GAP)
        length = 0 if value is None else round(room * float(value) / largest)
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 16}" font-size="12" text-anchor="end" fill="#000">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR}" fill="#4a6fa5" '
                     f'stroke="#000" stroke-width="0.5"/>')
        parts.append(f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 16}" font-size="12" fill="#000">'
                     f'{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(title: str, columns: list[tuple[str, Decimal | int | None, str]]) -> Markup:
    """Vertical columns (a monthly trend): (label under the column, value, text above it).

    However long the period, the texts never overlap: when the widest label or value does not fit
    its column, only every k-th column (always the last) is written, and every column keeps its
    label and value as a tooltip (its ``<title>``); the table under the chart has them all."""
    height, base, top = 240, 200, 40
    count = max(len(columns), 1)
    step = (WIDTH - 20) / count
    largest = max((float(v) for _, v, _ in columns if v is not None), default=0) or 1
    every = _every(step, [(label, 10) for label, _, _ in columns] + [(shown, 9) for _, _, shown in columns])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" aria-label="{escape(title, {chr(34): "&quot;"})}">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#000">{escape(title)}</text>',
             f'<line x1="10" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#000" stroke-width="1"/>']
    for index, (label, value, shown) in enumerate(columns):
        x = 10 + index * step
        size = 0 if value is None else round((base - top) * float(value) / largest)
        middle = x + step / 2
        parts.append(f'<g><title>{escape(label)}: {escape(shown)}</title>'
                     f'<rect x="{x + step * 0.15:.1f}" y="{base - size}" width="{step * 0.7:.1f}" height="{size}" '
                     f'fill="#4a6fa5" stroke="#000" stroke-width="0.5"/></g>')
        if (count - 1 - index) % every:
            continue
        parts.append(f'<text x="{middle:.1f}" y="{base - size - 4}" font-size="9" text-anchor="middle" '
                     f'fill="#000">{escape(shown)}</text>')
        parts.append(f'<text x="{middle:.1f}" y="{base + 14}" font-size="10" text-anchor="middle" '
                     f'fill="#000">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _every(step: float, texts: list[tuple[str, int]]) -> int:
    """Write every how-many-th column's texts so that the widest (an estimate: 0.62 of the font
    size per character, 6 px apart) fits the room that many columns give."""
    widest = max((len(text) * size * 0.62 + 6 for text, size in texts), default=0)
    every = 1
    while every * step < widest:
        every += 1
    return every
