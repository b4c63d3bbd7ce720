"""Reproduction of the seeds' figures: a registry of figure modules and the theory-vs-numerics table.

Every figure module (``fig_<seed>_<figure>.py``) exposes ``NAME`` (``"<seed>-fig<k>"``), ``TITLE``,
``run(quick=False, seed=0, progress=True) -> Result`` and ``plot(result) -> matplotlib Figure``.
``run`` simulates at the seed's size by default and at a tiny size with ``quick=True`` (for tests);
its table rows compare a seed formula with the simulation, with a standard error estimated from
the simulated samples and a ``Z``-standard-error confidence interval.

Example:
    >>> r = row("mean eps^2", theory=2.0, simulation=2.1, sem=0.05)
    >>> round(r["rel_err"], 3), r["within_ci"]
    (0.05, True)
    >>> from qntk.experiments import reproduce
    >>> sorted(reproduce.FIGURES)
    ['000-fig1', '000-fig2', '000-fig3', '001-fig2', '001-fig3', '001-fig4']
"""

from __future__ import annotations

import functools
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .._provenance import versions, write_atomic

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
        config: JSON-ready settings and measured model properties (K, eps(0), time).
    """

    name: str
    data: Any
    rows: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)


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


def paired_row(quantity: str, theory_i, simulation_i, note: str = "") -> dict:
    """Row comparing sample means, with ``sem`` the standard error of the per-sample difference.

    Each sample ``i`` has its own prediction ``theory_i`` (from its own K, eps(0)); the samples are
    independent, so ``sem = std(sim_i - theory_i) / sqrt(N)``.
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


def get(name: str) -> ModuleType:
    """The figure module registered as ``name``.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    figures = _registry()
    if name not in figures:
        raise ValueError(f"unknown figure {name!r}: choose one of {', '.join(figures)} or 'all' (qntk reproduce --list).")
    return figures[name]


def markdown(result: Result) -> str:
    """The table as Markdown: quantity | theory | simulation | sem | rel. err. | within CI | note."""
    cfg = result.config
    size = " (quick: tiny size, not the seed's)" if cfg.get("quick") else ""
    lines = [f"# {result.name}: {cfg.get('title', '')}{size}", "", f"Model: {cfg.get('model_note', '')}", "",
             f"Confidence interval: |simulation - theory| <= {Z:g} sem (99.7% two-sided normal).", "",
             "| quantity | theory | simulation | sem | rel. err. | within CI | note |",
             "|---|---|---|---|---|---|---|"]
    for r in result.rows:
        cells = [r["quantity"], *(f"{r[k]:.4g}" for k in ("theory", "simulation", "sem")), f"{r['rel_err']:.2%}",
                 "yes" if r["within_ci"] else "**no**", r["note"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write(result: Result, out_dir: str | Path) -> dict[str, Path]:
    """Writes ``<name>.png``, ``.nc`` (NetCDF, attrs config/seed/versions), ``.md`` and ``.json`` atomically.

    The PNG is rendered by the Agg canvas of the figure itself, so no global matplotlib backend is
    changed. Returns the paths by kind (``png``, ``nc``, ``md``, ``json``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ..train import save

    out_dir = Path(out_dir)
    paths = {kind: out_dir / f"{result.name}.{kind}" for kind in ("png", "nc", "md", "json")}
    fig = _registry()[result.name].plot(result)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    write_atomic(paths["png"], buf.getvalue())
    ds = result.data.copy()
    ds.attrs.update(config=json.dumps(result.config, sort_keys=True), seed=int(result.config.get("seed", 0)),
                    versions=json.dumps(versions(), sort_keys=True), name=result.name)
    save(ds, paths["nc"])
    write_atomic(paths["md"], markdown(result))
    obj = {"name": result.name, "rows": result.rows, "config": result.config, "versions": versions()}
    write_atomic(paths["json"], json.dumps(obj, indent=2, sort_keys=True) + "\n")
    return paths


def run_all(out_dir: str | Path, quick: bool = False, seed: int = 0, progress: bool = True,
            names: list[str] | None = None) -> list[tuple[Result, dict[str, Path]]]:
    """Runs and writes every registered figure (or ``names``), each written as soon as it is done."""
    done = []
    for name in names or list(_registry()):
        result = get(name).run(quick=quick, seed=seed, progress=progress)
        done.append((result, write(result, out_dir)))
    return done


@functools.cache
def _registry() -> dict[str, ModuleType]:
    """The figure modules, imported on first use: they import this module's helpers, so importing
    them here at module level would make ``import qntk.experiments.fig_000_2`` circular."""
    from . import fig_000_1, fig_000_2, fig_000_3, fig_001_2, fig_001_3, fig_001_4

    return {m.NAME: m for m in (fig_000_1, fig_000_2, fig_000_3, fig_001_2, fig_001_3, fig_001_4)}


def __getattr__(name: str):
    if name == "FIGURES":  # registered figures, keyed by ``<seed>-fig<k>``
        return _registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
