"""What the figures' ``plot`` functions share: a one-panel figure, simulated values with ``Z``-standard-error
bars (:data:`qntk.experiments._table.Z`, the table's confidence interval), and the labels, title and legend.

The figure is a bare :class:`matplotlib.figure.Figure`: no global pyplot state is touched.

Example:
    >>> fig, ax = axes()
    >>> _ = errorbar(ax, [1, 2], [1.0, 2.0], [0.1, 0.2], "simulation")
    >>> decorate(ax, "x", "y", "a title", log=True)
    >>> [t.get_text() for t in ax.get_legend().get_texts()], ax.get_xscale()
    (['simulation +- 3 sem'], 'log')
"""

from __future__ import annotations

import functools
import math
import textwrap

import numpy as np

from .._table import Z
from ..papers import figure_title


def title(name: str) -> str:
    """A figure's name and paper, for its title (:func:`qntk.experiments.papers.figure_title`)."""
    return figure_title(name)


def axes(width: float = 5.6):
    """A one-panel figure ``width`` x 4.2 inches in constrained layout, and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 4.2), layout="constrained")
    return fig, fig.add_subplot()


def errorbar(ax, x, values, sem, label: str | None = None, fmt: str = "ko", ms: float = 4, **style):
    """``values`` at ``x`` with bars of ``Z`` standard errors ``sem``; ``label`` (if any) gets `` +- Z sem``."""
    if label is not None:
        style["label"] = f"{label} +- {Z:g} sem"
    return ax.errorbar(x, values, yerr=Z * np.asarray(sem), fmt=fmt, ms=ms, capsize=2, **style)


#: Characters per line of a panel's title (longer titles wrap).
TITLE_WIDTH = 80


def _minor_label(decades: float, value: float, _position) -> str:
    """Minor ticks of a log axis: all labelled below a decade, those at 2 and 5 up to 2.5 decades, none beyond."""
    mantissa = value / 10 ** math.floor(math.log10(value) + 1e-12)
    if decades < 1 or (decades <= 2.5 and min(abs(mantissa - 2), abs(mantissa - 5)) < 1e-6):
        return f"{value:g}"
    return ""


def decorate(ax, xlabel: str, ylabel: str, title: str, *, log: bool | str = False, title_size: float | None = None,
             legend_size: float = 8, **legend) -> None:
    """Log-log axes if ``log`` (``"x"`` or ``"y"``: that axis only), the axis labels, the title (at ``title_size``
    points, for a long one) and a legend in ``legend_size`` points (``legend``: more
    :meth:`matplotlib.axes.Axes.legend` arguments)."""
    if log:
        from matplotlib.ticker import FuncFormatter, StrMethodFormatter

        logged = [(ax.xaxis, ax.set_xscale, ax.get_xlim), (ax.yaxis, ax.set_yscale, ax.get_ylim)]
        if log in ("x", "y"):
            logged = logged[:1] if log == "x" else logged[1:]
        for _, set_scale, _ in logged:
            set_scale("log")
        for axis, (lo, hi) in ((axis, lim()) for axis, _, lim in logged):
            axis.set_major_formatter(StrMethodFormatter("{x:g}"))  # 0.1, 1e+03: not 10^-1
            axis.set_minor_formatter(FuncFormatter(functools.partial(_minor_label, math.log10(hi / lo))))
    ax.set(xlabel=xlabel, ylabel=ylabel, title="\n".join(textwrap.wrap(title, TITLE_WIDTH)))
    if title_size is not None:
        ax.title.set_fontsize(title_size)
    ax.legend(fontsize=legend_size, **legend)
