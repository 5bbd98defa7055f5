"""Number formatting shared by the report's text (plots format their own)."""

from __future__ import annotations


def number(value: float | None) -> str:
    """A measured value: 1,234 / 351 / 50.7 / 4.88 / 0.0525."""
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio(value: float | None) -> str:
    """A ratio: 72 / 9.4 / 0.52."""
    if value is None:
        return "–"
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def interval(ci, formatter=number) -> str:
    return f"{formatter(ci[0])}–{formatter(ci[1])}" if ci else "–"


def ci(value, formatter=number) -> str:
    """A Value's interval, marked with its coverage where its trials cannot give 95%."""
    coverage = getattr(value, "coverage", None)
    mark = f" ({100 * coverage:.3g}%)" if coverage is not None and coverage < 0.95 else ""
    return interval(value.ci, formatter) + mark


def percent(fraction: float | None) -> str:
    if fraction is None:
        return "–"
    return f"{100 * fraction:.0f}%" if fraction >= 0.01 else f"{100 * fraction:.2g}%"


def cell(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def and_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
