"""The report's plotting style, shared by every plot: sizes, fonts, log axes
with plain labels, family separators, and atomic saving. Figures are 10
inches wide at 100 dpi and at most MAX_HEIGHT tall, so none passes about
1,000 px; every axis says its unit; colours come from the vocabulary."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from harness.results.store import write_atomic  # noqa: E402

WIDTH = 10.0
DPI = 100
MAX_HEIGHT = 9.8  # inches: at most ~1,000 px
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "savefig.facecolor": "white",
}
ROW_HEIGHT = 0.42  # inches per backend row in dot-and-interval plots


def height(rows: int, extra: float = 1.8) -> float:
    return min(MAX_HEIGHT, extra + ROW_HEIGHT * rows)


def _plain_number(value: float, _position=None) -> str:
    if value <= 0:
        return ""
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def log_axis(ax, which: str = "x") -> None:
    """A log axis labelled 0.01, 1, 10, 1,000 rather than 10^n; 2 and 5 ticks on short spans."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())


def _denser_log_ticks(fig) -> None:
    for ax in fig.axes:
        for axis, limits, scale in ((ax.xaxis, ax.get_xlim(), ax.get_xscale()),
                                    (ax.yaxis, ax.get_ylim(), ax.get_yscale())):
            low, high = sorted(limits)
            if scale == "log" and low > 0 and np.log10(high / low) < 2.5 \
                    and isinstance(axis.get_major_locator(), LogLocator):
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))


def save(fig, folder: Path, name: str) -> str:
    _denser_log_ticks(fig)
    width, tall = fig.get_size_inches()
    if tall > MAX_HEIGHT + 0.01:
        fig.set_size_inches(width, MAX_HEIGHT)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    write_atomic(folder / name, buffer.getvalue())
    return name


def text_colour(colour: str) -> str:
    """A colour darkened enough to read as text on white."""
    red, green, blue = matplotlib.colors.to_rgb(colour)
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    factor = min(1.0, 0.45 / luminance) if luminance > 0 else 1.0
    return matplotlib.colors.to_hex((red * factor, green * factor, blue * factor))


def backend_rows(ax, labels: list[str], colours: list[str], families: list[str]) -> None:
    """y ticks named and coloured per backend, top to bottom, with a faint line between families."""
    ax.set_yticks(range(len(labels)), labels)
    for tick, colour in zip(ax.get_yticklabels(), colours):
        tick.set_color(text_colour(colour))
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    for row in range(1, len(labels)):
        if families[row] != families[row - 1]:
            ax.axhline(row - 0.5, color="#999999", linewidth=0.8, linestyle="-", alpha=0.6)
