"""004 with several data: the phase diagram of late-time training over the targets ``(y_1, y_2)``.

The several-data extension of 004 (Zhang, Liu, Jiang, Zhuang, npj Quantum Inf. 11, 132 (2025),
arXiv:2410.01955); the theory is :mod:`qntk.theory.several_data`. Two orthonormal inputs ``|0..00>``,
``|0..01>`` with targets ``(y_1, y_2)`` and the supervised loss ``sum_a eps_a^2 / 2``. The achievable outputs
form the polygon ``A`` of the Schur-Horn theorem (``O_min <= f_a <= O_max``, ``lambda_1 + lambda_2 <= f_1 + f_2
<= lambda_d + lambda_{d-1}``); the predicted class of every target comes from the projection of ``y`` onto
``A`` alone: frozen-kernel inside, critical and critical-frozen-kernel on the faces, frozen-error and
mixed-frozen outside, critical-frozen-error on the edges of the normal cones at the vertices.

Model: 004's random Pauli ansatz (004 eqs. (26)-(27), ``s = 1/2``, Haar ``W``) on the binary-weighted field
``O = sum_i 2^{-i} Z_i`` (a non-degenerate spectrum, so that ``A`` is a hexagon at ``n = 2``; 004's XXZ chain
has a degenerate top level at ``n = 2``, where the corner ``(O_max, O_max)`` is reachable). One circuit and one
set of initial angles (``seed``) for every target point.

Simulated points: :data:`POINTS`, target points placed from the spectrum so that every class that two
data reach appears (``outside`` sets how far outside ``A`` the frozen-error points lie); the measured class
(:func:`~qntk.theory.several_data.measure_phase`, from the late half of each run) is drawn on the predicted
map. Table rows: for each point and datum, the late-time output ``<O>_a(T)`` (mean over samples) against
the predicted ``f*_a`` (the projection of ``y``: ``y_a`` when fitted, the face value when the error freezes at
``R_a = f*_a - y_a``), with the standard error over samples (floored at the float64 resolution of ``f*_a``:
runs that converge exponentially agree to rounding). Critical data approach ``f*`` as ``1/t`` (004 eq. (15)),
so their rows carry that finite-time bias. For each point of a polynomial class, one more row: the exponent
``d log kappa / d log t`` of the largest vanishing eigenvalue of the kernel matrix (the critical direction's,
``kappa ~ 1/(eta t + c)``, 004 eq. (15): exponent -1), per-sample Theil-Sen slope over the late half, against -1.
The number of vanishing kernel eigenvalues (the dimension of the active normals) is predicted and measured too.

Paper size: qntk's choice (the paper's own settings were not available here): ``n = 2``, ``L = 16``,
``eta = 0.1``, 3000 steps, 16 samples, 13 points: 20-60 s on 2 busy shared cores, most of it compiling (each
point reuses the one compiled training step). Measured there: 13/13 classes and kernel zero-mode counts as
predicted.

What the rows show: frozen-kernel and frozen-error outputs agree with ``f*`` to rounding (exponential
convergence); critical data lag by ``O(1/t)`` (0.2-1 % after 3000 steps), outside the standard error, as
004 eq. (15) says they must. The exponent of the vanishing kernel eigenvalue is -1 within 3 sem (-0.97 to
-1.03) on a single critical face and beside a frozen error, and -0.88 +- 0.04 at a vertex, where two critical
directions couple and the one-mode law does not apply. The ``N = 1`` critical law ``1/K = eta t + c`` has no clean analogue to put in a
row: along a critical face normal ``n`` (single face) the late slope of ``1/K_nn`` was 0.83-0.92 ``eta`` and
that of the Schur complement ``n^T K^{-1} n`` 1.05-1.25 ``eta`` (16 samples, standard errors 0.02-0.1),
since the fitted errors are slaved to the critical one (``K_{n T} ~ sqrt(u)``) and ``lambda`` still drifts.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ....models import Model
from ....models.states import Dataset, basis_state
from ....theory import several_data as sd
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, positive, validate
from . import _setup

NAME = "004-data"
TITLE = "004 with two data: late-time phase diagram over the targets (y_1, y_2), rpa, O = sum_i 2^-i Z_i"

#: The simulated target points, as functions of the spectrum: ``(lo, lo2, hi, hi2)`` the two lowest and two
#: highest eigenvalues, ``w = hi - lo`` and ``out`` (``Config.outside``); the class each aims at is only a
#: label here (the prediction is computed).
POINTS = (
    ("mixed-frozen", lambda lo, lo2, hi, hi2, w, out: (lo - out, lo + 0.6 * w)),
    ("critical-frozen-error", lambda lo, lo2, hi, hi2, w, out: (lo - out, lo2)),
    ("frozen-kernel", lambda lo, lo2, hi, hi2, w, out: (lo + 0.45 * w, lo + 0.6 * w)),
    ("frozen-error", lambda lo, lo2, hi, hi2, w, out: ((lo + lo2) / 2 - out, (lo + lo2) / 2 - out)),
    ("critical-frozen-kernel", lambda lo, lo2, hi, hi2, w, out: (lo, lo + 0.6 * w)),
    ("critical", lambda lo, lo2, hi, hi2, w, out: ((lo + lo2) / 2, (lo + lo2) / 2)),
    ("critical", lambda lo, lo2, hi, hi2, w, out: (lo, lo2)),
    ("frozen-kernel", lambda lo, lo2, hi, hi2, w, out: (lo + 0.75 * w, lo + 0.3 * w)),
    ("frozen-error", lambda lo, lo2, hi, hi2, w, out: ((hi + hi2) / 2 + out, (hi + hi2) / 2 + out)),
    ("mixed-frozen", lambda lo, lo2, hi, hi2, w, out: (lo + 0.6 * w, hi + out)),
    ("critical-frozen-kernel", lambda lo, lo2, hi, hi2, w, out: (hi, lo + 0.45 * w)),
    ("critical-frozen-error", lambda lo, lo2, hi, hi2, w, out: (hi + out, hi2)),
    ("frozen-error", lambda lo, lo2, hi, hi2, w, out: (lo - 2 * out, lo2 - out)),
)

#: Colours of the classes in the plot (the predicted map shows them faded).
COLORS = dict(zip(sd.PHASE_NAMES, ("tab:green", "tab:red", "tab:orange", "tab:blue", "tab:cyan", "tab:purple", "tab:brown")))


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of the two-data phase diagram; the defaults are qntk's paper size. ``n_qubits`` (``>= 2``),
    ``n_layers``, ``eta``, ``steps`` and ``seed`` (circuit and initial angles, the same for every point) are
    shared fields.

    Attributes:
        samples: initial angle vectors per point.
        points: how many of :data:`POINTS` are simulated (the first ones).
        outside: distance (in units of ``O``) by which the frozen-error points lie outside the region.
        grid: resolution of the predicted map (``grid x grid`` targets).
    """

    n_qubits: int = 2
    n_layers: int = 16
    eta: float = 0.1
    steps: int = 3000
    samples: int = 16
    points: int = len(POINTS)
    outside: float = 0.5
    grid: int = 241
    seed: int = 0

    def __post_init__(self):
        validate(self, n_qubits=integer(2), samples=integer(2), points=integer(1), outside=positive, grid=integer(11))
        if self.points > len(POINTS):
            raise ValueError(f"points must be <= {len(POINTS)} (the number of target points), got {self.points}.")
        if self.steps < 20:
            raise ValueError(f"steps must be >= 20 (the phase is read from the late half of the run), got {self.steps}.")


QUICK = Config(steps=2000, samples=4, points=4, grid=41)


def observable(n_qubits: int) -> str:
    """``O = sum_i 2^{-i} Z_i`` as a Pauli-sum expression (non-degenerate spectrum ``sum_i +-2^{-i}``).

    Example:
        >>> observable(2)
        '1*ZI + 0.5*IZ'
    """
    return " + ".join(f"{2.0**-i:g}*" + "I" * i + "Z" + "I" * (n_qubits - 1 - i) for i in range(n_qubits))


def targets(spectrum, outside: float, count: int) -> np.ndarray:
    """The first ``count`` target points of :data:`POINTS` for a spectrum, shape ``(count, 2)``."""
    lam = np.sort(np.asarray(spectrum, dtype=np.float64))
    lo, lo2, hi, hi2 = lam[0], lam[1], lam[-1], lam[-2]
    return np.array([f(lo, lo2, hi, hi2, hi - lo, outside) for _, f in POINTS[:count]], dtype=np.float64)


def phase_map(spectrum, grid: int, margin: float):
    """The predicted class on a ``grid x grid`` mesh of targets around the region: ``(y1, y2, codes)`` with
    ``codes`` indexing :data:`qntk.theory.several_data.PHASE_NAMES`."""
    lam = np.sort(np.asarray(spectrum, dtype=np.float64))
    axis = np.linspace(lam[0] - margin, lam[-1] + margin, grid)
    y = np.stack(np.meshgrid(axis, axis, indexing="xy"), axis=-1)  # (grid, grid, 2), y[..., 0] along columns
    types, _, _ = sd.classify(y, lam)
    names = np.array(sd.TYPES)[types]
    codes = np.array([sd.PHASE_NAMES.index(sd.phase_name(t)) for t in names.reshape(-1, 2)]).reshape(grid, grid)
    return axis, axis, codes


def run(config: Config, progress: bool = True) -> Result:
    """Predicts the class of every target from the spectrum, trains at the target points and measures it."""
    import xarray as xr

    start = time.perf_counter()
    n = config.n_qubits
    obs = observable(n)
    probe = Model("rpa", n, config.n_layers, obs)
    lam = np.linalg.eigvalsh(probe.operator.matrix())
    ys = targets(lam, config.outside, config.points)
    inputs = np.stack([basis_state(n, 0), basis_state(n, 1)])
    predictions = [sd.predict_phase(lam, y) for y in ys]  # from the model alone, before any simulation

    T = config.steps
    t = np.arange(1, T + 1)
    window = slice(T // 2, None)
    abs_med, final, k_eig, measured, k_slope = [], [], [], [], []
    for y, p in zip(ys, predictions):
        m = Model("rpa", n, config.n_layers, obs, data=Dataset(states=inputs, labels=y, name="basis"))
        ds = _setup.run(m, config.eta, T, config.samples, config.seed, progress, loss="supervised")
        eps, K = ds.eps.values[:, 0], ds.K.values[:, 0]  # (step, sample, data), (step, sample, data, data_b)
        mm = sd.measure_phase(t, eps[1:], K[1:])
        measured.append(mm)
        abs_med.append(np.median(np.abs(eps), axis=1))
        final.append(eps[-1])
        k_eig.append(mm.K_eigenvalues)
        # per sample: exponent of the largest vanishing kernel eigenvalue (the critical one in a polynomial class)
        ev = np.linalg.eigvalsh(K[1:])[window]  # (window, sample, data), ascending
        j = max(p.n_zero_modes - 1, 0)
        k_slope.append([sd.power_exponent(t[window], ev[:, s, j]) for s in range(config.samples)])
    abs_med, final = np.stack(abs_med, axis=1), np.stack(final)  # (step, point, data), (point, sample, data)
    k_slope = np.array(k_slope)  # (point, sample)

    rows = []
    for i, (y, p, mm) in enumerate(zip(ys, predictions, measured)):
        outputs = final[i] + y  # late <O>_a per sample
        for a in range(2):
            theory = p.f_star[a]
            if theory == 0.0:
                continue
            sem = max(float(np.std(outputs[:, a], ddof=1) / np.sqrt(config.samples)), 4 * np.spacing(abs(theory)))
            note = f"predicted {p.phase} ({p.types[a]}), measured {mm.phase} ({mm.types[a]}, p = {mm.power[a]:.2f})"
            if p.types[a] == "critical":
                note += "; critical: 1/t approach (004 eq. (15)), finite-time bias expected"
            rows.append(row(f"late <O>_{a + 1}(T) at y = ({y[0]:.3g}, {y[1]:.3g})", theory, outputs[:, a].mean(), sem, note))
        if p.law == "polynomial":
            rows.append(row(f"d log kappa / d log t, vanishing K eigenvalue at y = ({y[0]:.3g}, {y[1]:.3g})", -1.0,
                            k_slope[i].mean(), k_slope[i].std(ddof=1) / np.sqrt(config.samples),
                            f"{p.phase}: critical kernel eigenvalue ~ 1/(eta t + c) (004 eq. (15)), per-sample "
                            f"Theil-Sen slope over t >= {T // 2}; kernel zero modes predicted {p.n_zero_modes}, "
                            f"measured {mm.n_zero_modes}; finite-time value -t/(t + c) > -1"
                            + ("; a vertex: two coupled critical directions, 004 eq. (15) is the one-mode law"
                               if p.phase == "critical" and p.n_zero_modes > 1 else "")))

    margin = config.outside * 2.5
    y1_axis, y2_axis, codes = phase_map(lam, config.grid, margin)
    data = xr.Dataset(
        {
            "targets": (("point", "data"), ys),
            "f_star": (("point", "data"), np.array([p.f_star for p in predictions])),
            "R": (("point", "data"), np.array([p.R for p in predictions])),
            "predicted": ("point", [sd.PHASE_NAMES.index(p.phase) for p in predictions]),
            "measured": ("point", [sd.PHASE_NAMES.index(mm.phase) for mm in measured]),
            "power": (("point", "data"), np.array([mm.power for mm in measured])),
            "abs_eps_median": (("step", "point", "data"), abs_med),
            "eps_final": (("point", "sample", "data"), final),
            "K_late_eigenvalues": (("point", "data"), np.array(k_eig)),
            "K_power": (("point", "data"), np.array([mm.K_power for mm in measured])),
            "critical_K_power": (("point", "sample"), k_slope),
            "zero_modes_predicted": ("point", [p.n_zero_modes for p in predictions]),
            "zero_modes_measured": ("point", [mm.n_zero_modes for mm in measured]),
            "phase_map": (("y2", "y1"), codes),
            "spectrum": ("level", lam),
        },
        coords={"step": np.arange(T + 1), "y1": y1_axis, "y2": y2_axis},
    )
    data.attrs["phase_names"] = ",".join(sd.PHASE_NAMES)
    agree = sum(p.phase == mm.phase for p, mm in zip(predictions, measured))
    note = _setup.note(probe, "two orthonormal inputs |0..00>, |0..01>, supervised loss; targets from the spectrum")
    note = note.replace(", input |0...0>", "")
    measured_record = {"phases_predicted": [p.phase for p in predictions], "phases_measured": [mm.phase for mm in measured],
                       "phase_agreement": f"{agree}/{len(ys)}", "spectrum": lam.tolist()}
    return Result(NAME, data, rows, record(NAME, TITLE, config, probe, note, start, **measured_record))


def _region(spectrum):
    """The polygon ``A`` (counter-clockwise vertices) and the outward unit normals of its edges."""
    from scipy.spatial import ConvexHull

    pts = sd.vertices(spectrum, 2)
    hull = ConvexHull(pts)
    return pts[hull.vertices], hull


def plot(result: Result):
    """Left: the predicted classes over ``(y_1, y_2)`` (areas: exponential classes; lines: polynomial ones),
    with the simulated points (inner dot: measured class; outer ring: predicted class). Right: median ``|eps_a(t)|``
    of each simulated point (log-log; slopes 0, -1 and steeper are frozen error, critical, frozen kernel)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    d = result.data
    names = d.attrs["phase_names"].split(",")
    lam = d.spectrum.values
    fig = Figure(figsize=(11.5, 5.0), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    cmap = ListedColormap([COLORS[nm] for nm in names])
    ax.pcolormesh(d.y1.values, d.y2.values, d.phase_map.values, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5,
                  shading="nearest", alpha=0.25)
    poly, hull = _region(lam)
    span = float(d.y1.values[-1] - d.y1.values[0])
    for eq, simplex in zip(hull.equations, hull.simplices):
        a, b = hull.points[simplex]
        mid = (a + b) / 2
        phase = sd.predict_phase(lam, mid).phase
        ax.plot(*np.stack([a, b]).T, color=COLORS[phase], lw=3)
        for v in (a, b):  # edges of the normal cones at the vertices: critical-frozen-error where a datum is fitted
            ray_phase = sd.predict_phase(lam, v + eq[:2] * 0.1).phase
            if ray_phase in sd.POLYNOMIAL:
                ax.plot(*np.stack([v, v + eq[:2] * span]).T, color=COLORS[ray_phase], lw=1.5, ls="--")
    ax.plot(*poly.T, "k.", ms=6)
    for y, pred, meas in zip(d.targets.values, d.predicted.values, d.measured.values):
        ax.scatter(*y, s=150, color=COLORS[names[int(pred)]], edgecolors="k", linewidths=0.6, zorder=5)
        ax.scatter(*y, s=45, color=COLORS[names[int(meas)]], edgecolors="k", linewidths=0.6, zorder=6)
        if pred != meas:
            ax.annotate("x", y, color="k", ha="center", va="center", zorder=7)
    ax.set(xlim=(d.y1.values[0], d.y1.values[-1]), ylim=(d.y2.values[0], d.y2.values[-1]), xlabel="target $y_1$",
           ylabel="target $y_2$", aspect="equal")
    handles = [Line2D([], [], marker="s", ls="", ms=9, color=COLORS[nm], label=nm) for nm in names[:6]]
    ax.legend(handles=handles, fontsize=7, loc="upper left", title="class (dot: measured, ring: predicted)",
              title_fontsize=7)
    c = result.config["config"]
    ax.set_title(f"{_plot.title(NAME)}: n={c['n_qubits']}, L={c['n_layers']}, eta={c['eta']:g}, {c['steps']} steps, "
                 f"{c['samples']} samples; agreement {result.config['phase_agreement']}", fontsize=8)
    step = d.step.values[1:]
    for i, (pred, y) in enumerate(zip(d.predicted.values, d.targets.values)):
        for a, ls in ((0, "-"), (1, ":")):
            ax2.loglog(step, np.maximum(d.abs_eps_median.values[1:, i, a], 1e-17), ls=ls,
                       color=COLORS[names[int(pred)]], lw=1, label=f"y=({y[0]:.2g},{y[1]:.2g})" if a == 0 else None)
    ax2.set(xlabel="step $t$", ylabel=r"median $|\varepsilon_a(t)|$ (solid $a=1$, dotted $a=2$)", ylim=(1e-12, 10))
    ax2.legend(fontsize=6, ncol=2)
    ax2.set_title("late-time laws: |eps| -> R (flat), ~1/t (critical), exponential (frozen kernel)", fontsize=8)
    return fig
