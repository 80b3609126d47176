"""Plain-text tables for run summaries (readable in a terminal and in cron mail)."""

from __future__ import annotations


def table(header: list[str], rows: list[list[object]], indent: str = "  ") -> list[str]:
    """Columns sized to their content; numbers right-aligned, text left-aligned."""
    cells = [[("" if v is None else str(v)) for v in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in cells[1:] if row[i]) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(row, widths, numeric, strict=True)
        ]
        lines.append((indent + "  ".join(parts)).rstrip())
    return lines


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True
