"""The theory-vs-numerics table of a reproduced figure: its rows, their confidence interval, Markdown.

A row compares a seed formula with the simulation, with a standard error estimated from the
simulated samples and a ``Z``-standard-error confidence interval. The figure modules
(:mod:`qntk.experiments.figures`) build their rows here; the registry
(:mod:`qntk.experiments.reproduce`) writes them.

Example:
    >>> r = row("mean eps^2", theory=2.0, simulation=2.1, sem=0.05)
    >>> round(r["rel_err"], 3), r["within_ci"]
    (0.05, True)
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .papers import heading

#: Half-width of the confidence interval in standard errors: ``|sim - theory| <= Z sem`` is the
#: 99.7% two-sided interval of a normal estimate (3 sigma); it is never widened to make a row pass.
Z = 3.0

ROW_KEYS = ("quantity", "theory", "simulation", "sem", "rel_err", "within_ci", "note")


@dataclass
class Result:
    """The outcome of one figure: everything plotted, the table rows and the settings.

    Attributes:
        name: the figure's registry name, e.g. ``"001-fig2"``.
        data: an ``xarray.Dataset`` with every plotted array (and the per-sample raw data).
        rows: table rows made by :func:`row`.
        config: the JSON-ready record of the run (:func:`record`): the settings (:func:`settings`: the
            figure's ``Config`` under ``"config"``), the model and measured properties (K, eps(0), time).
    """

    name: str
    data: Any
    rows: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)


def settings(config) -> dict:
    """The record of a figure's configuration: ``config`` (every field), ``paper_size`` (whether it is
    the figure's default ``Config()``) and ``changed`` (the fields that differ from it).

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Config:
        ...     n_qubits: int = 4
        ...     layers: tuple[int, ...] = (4, 8)
        >>> settings(Config(n_qubits=2))
        {'config': {'n_qubits': 2, 'layers': (4, 8)}, 'paper_size': False, 'changed': {'n_qubits': 2}, 'paper': {'n_qubits': 4}}
    """
    paper = type(config)()
    values = dataclasses.asdict(config)
    changed = {k: v for k, v in values.items() if v != getattr(paper, k)}
    return {"config": values, "paper_size": not changed, "changed": changed,
            "paper": {k: getattr(paper, k) for k in changed}}


def record(name: str, title: str, config, model, model_note: str, start: float, **measured) -> dict:
    """The ``Result.config`` of a figure run: ``title``, ``figure`` (``name``), the :func:`settings` of
    ``config``, ``model.to_dict()``, the table's one-line ``model_note``, the ``measured`` model properties
    (K, eps(0), ...) and ``time_s``, the seconds since ``start`` (a :func:`time.perf_counter` reading).
    """
    return {"title": title, "figure": name, **settings(config), "model": model.to_dict(), "model_note": model_note,
            **measured, "time_s": time.perf_counter() - start}


def size_note(config: dict) -> str:
    """Nothing at the paper's size; otherwise the fields of this run that differ from it, with the paper's
    values (the title describes the paper's setup), for a table title, from a :func:`settings` record."""
    if config.get("paper_size", True):
        return ""
    paper = config.get("paper", {})

    def show(v) -> str:
        return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)

    changed = ", ".join(f"{k}={show(v)}" + (f" (paper: {show(paper[k])})" if k in paper else "")
                        for k, v in config.get("changed", {}).items())
    return f". This run is not at the paper's size: {changed}"


def row(quantity: str, theory: float, simulation: float, sem: float, note: str = "") -> dict:
    """A table row with ``rel_err = |sim - th| / |th|`` and ``within_ci = |sim - th| <= Z sem``.

    Raises:
        ValueError: if ``theory`` is 0 (no relative error) or a number is not finite.
    """
    theory, simulation, sem = float(theory), float(simulation), float(sem)
    if not all(map(math.isfinite, (theory, simulation, sem))) or theory == 0:
        raise ValueError(f"row {quantity!r} needs finite numbers and a non-zero theory value, got "
                         f"theory={theory}, simulation={simulation}, sem={sem}.")
    diff = abs(simulation - theory)
    return dict(quantity=quantity, theory=theory, simulation=simulation, sem=sem, rel_err=diff / abs(theory),
                within_ci=bool(diff <= Z * sem), note=note)


def bound_row(quantity: str, bound: float, value: float, note: str = "", lower: bool = True) -> dict:
    """Row of an inequality: ``theory`` is the ``bound``, ``simulation`` the measured ``value`` (no sampling
    error: ``sem = 0``), and ``within_ci`` says whether the bound holds (``value >= bound`` for a ``lower``
    bound, ``value <= bound`` for an upper one); the note says which.

    Example:
        >>> bound_row("L / bound", 1.0, 3.5)["within_ci"], bound_row("drift", 1e-10, 2e-15, lower=False)["within_ci"]
        (True, True)
    """
    r = row(quantity, bound, value, 0.0, f"{'lower' if lower else 'upper'} {BOUND_NOTE}" + (f"; {note}" if note else ""))
    r["within_ci"] = bool(value >= bound) if lower else bool(value <= bound)
    return r


#: How the note of a :func:`bound_row` starts (after "lower " or "upper ").
BOUND_NOTE = "bound: 'yes' when it holds"


def is_bound(r: dict) -> bool:
    """Whether the row ``r`` is a :func:`bound_row` (an inequality, with no sampling error)."""
    return r["note"].startswith((f"lower {BOUND_NOTE}", f"upper {BOUND_NOTE}"))


def paired_row(quantity: str, theory_i, simulation_i, note: str = "") -> dict:
    """Row comparing sample means, with ``sem`` the standard error of the per-sample difference.

    Each sample ``i`` has its own prediction ``theory_i`` (from its own K, eps(0)); the samples are
    independent, so ``sem = std(sim_i - theory_i) / sqrt(N)``.

    Example:
        >>> r = paired_row("q", [1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 4.0, 5.0])
        >>> r["theory"], r["simulation"], round(r["sem"], 4)
        (1.5, 3.0, 0.6455)
    """
    th, sim = np.asarray(theory_i, float), np.asarray(simulation_i, float)
    return row(quantity, th.mean(), sim.mean(), np.std(sim - th, ddof=1) / np.sqrt(sim.size), note)


def std_row(quantity: str, variance_i, values_i, note: str = "") -> dict:
    """Row comparing the sample standard deviation of ``values_i`` with ``sqrt(mean(variance_i))``.

    ``sem`` by the delta method on the paired variance estimate ``d_i = (x_i - x̄)^2 - variance_i``:
    ``sem(std) = std(d) / (2 std(x) sqrt(N))`` (no normality assumed).
    """
    x, var = np.asarray(values_i, float), np.asarray(variance_i, float)
    s = np.std(x, ddof=1)
    d = (x - x.mean()) ** 2 - var
    return row(quantity, np.sqrt(var.mean()), s, np.std(d, ddof=1) / (2 * s * np.sqrt(x.size)), note)


def markdown(result: Result) -> str:
    """The table as Markdown: quantity | theory | simulation | sem | rel. err. | within CI | note.

    Example:
        >>> text = markdown(Result("000-fig1", None, [row("K̄", 2.0, 2.1, 0.05)], {"title": "t", "model_note": "m"}))
        >>> text.splitlines()[0], text.splitlines()[-1]
        ('# 000-fig1 (Liu et al., PRL 2023, Fig. 1): t', '| K̄ | 2 | 2.1 | 0.05 | 5.00% | yes |  |')
    """
    cfg = result.config
    lines = [f"# {heading(result.name, cfg.get('title', ''))}{size_note(cfg)}", "", f"Model: {cfg.get('model_note', '')}", "",
             f"Confidence interval: |simulation - theory| <= {Z:g} sem (99.7% two-sided normal).", "",
             "| quantity | theory | simulation | sem | rel. err. | within CI | note |",
             "|---|---|---|---|---|---|---|"]
    for r in result.rows:
        cells = [r["quantity"], *(f"{r[k]:.4g}" for k in ("theory", "simulation", "sem")), f"{r['rel_err']:.2%}",
                 "yes" if r["within_ci"] else "**no**", r["note"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
