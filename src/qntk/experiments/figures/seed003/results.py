"""003 "Results I-III": the QNTK diagnostics of re-uploading models on the TFIM-magnetization regression.

The data are 003's: the transverse magnetization ``m_x(h)`` of the N = 6 TFIM chain (exact diagonalization,
:func:`qntk.models.states.tfim_magnetization`) at ``points`` fields ``h`` in ``[-5, 5)``, every other one for
training (:func:`qntk.experiments.diagnose.split`, ``"interleaved"``). The models are 003's four families of data
re-uploading circuits (:func:`qntk.models.ansatze.reuploading`): low- or high-frequency encoding
``RX(c a_q h)`` with a hardware-efficient block (``RX, RZ, RX`` + CNOT ring, ``3 n`` parameters per block) or a
Hamiltonian-variational block (``RZZ`` ring + ``RX``, 2 shared parameters per block), at several depths, read out
by ``Z`` on the first qubit.

For every model :func:`qntk.experiments.diagnose.run` computes, from ``samples`` initializations, the spectrum
of the mean training QNTK (``lambda_min``, ``lambda_max``, ``kappa``), ``eta_crit = 2 / lambda_max``, the
training time ``tau`` at ``eta = eta_crit / 2 = 1 / lambda_max`` (003's learning rate) and the frozen-QNTK
predictions, then trains at that ``eta`` from the same initializations. The table turns each of 003's claims
into a measured row:

* ``lambda_min`` grows with the number of parameters (rank correlation +1; ``sem`` from a bootstrap over
  initializations);
* high-frequency and HEA models have larger ``lambda_min`` than low-frequency and HVA ones (the fraction of
  depths where they do, claimed 1);
* the maximum learning rate is ``eta_crit = 2 / lambda_max``: measured by bisection at the middle depth
  (:func:`qntk.experiments.diagnose.largest_convergent_eta`), claimed ratio 1;
* the training time ``tau ∝ kappa`` decreases with the number of parameters (rank correlation -1);
* the low ``kappa`` of high-frequency models comes with overfitting (trained test R² below the low-frequency
  model's at the same depth, claimed at every depth);
* the trained outputs approach the QNTK-predicted ones towards the lazy regime (rank correlation of the mean
  ``|trained - predicted|`` with the number of parameters, -1), and the predicted test R² against the trained one.

003 leaves the encoding scale, readout, sizes and learning-rate protocol open; the choices are the fields of
:class:`Config` (docs/conventions.md, "003's diagnostics").
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ....models import Model
from ....theory import diagnostics
from ... import diagnose
from ..._table import Result, record, row
from .. import _plot
from .._checks import integer, integers, positive, sequence_of, validate

NAME = "003-results"
TITLE = "003 Results I-III: QNTK spectrum, learning rate, training time and predictions vs depth, TFIM regression"

#: ``frequency-block`` of each model family.
FAMILIES = ("low-hea", "high-hea", "low-hva", "high-hva")


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings of 003's Results I-III (003 states the data and the model families, not the sizes).

    Attributes:
        n_qubits: qubits of the models (the data are always the N = ``spins`` chain).
        blocks: depths (re-uploading blocks); HEA has ``3 n`` parameters per block, HVA 2.
        families: model families, ``frequency-block`` (:data:`FAMILIES`).
        encoding_scale: ``c`` of ``RX(c a_q h)``; 0.3 keeps the angles of ``h`` in ``[-5, 5)`` within half a period.
        spins, points: the TFIM chain and the number of fields in ``[-5, 5)``.
        samples: initializations per model; steps: training steps at ``eta = 1 / lambda_max``.
        bisection: halvings of the learning-rate bracket ``[0.5, 2.5] eta_crit``; bootstrap: resamples.
    """

    n_qubits: int = 4
    blocks: tuple[int, ...] = (1, 2, 4, 8, 16)
    families: tuple[str, ...] = FAMILIES
    encoding_scale: float = 0.3
    spins: int = 6
    points: int = 20
    samples: int = 20
    steps: int = 200
    bisection: int = 5
    bootstrap: int = 200
    seed: int = 0

    def __post_init__(self):
        validate(self, n_qubits=integer(2), blocks=integers(1), families=sequence_of(_family), spins=integer(2),
                 points=integer(4), samples=integer(3), steps=integer(10), bisection=integer(1), bootstrap=integer(10),
                 encoding_scale=positive)
        if len(self.blocks) < 2 or list(self.blocks) != sorted(set(self.blocks)):
            raise ValueError(f"blocks={self.blocks} must be at least two increasing depths.")


def _family(name: str, value) -> str:
    if value not in FAMILIES:
        raise ValueError(f"{name}={value!r} is not a model family: use one of {', '.join(FAMILIES)}.")
    return value


QUICK = Config(n_qubits=2, blocks=(1, 2), families=("low-hea", "high-hea"), points=6, samples=3, steps=10,
               bisection=1, bootstrap=20)


def model(config: Config, family: str, blocks: int) -> Model:
    """The re-uploading model of ``family`` at depth ``blocks`` on 003's TFIM data."""
    frequency, block = family.split("-")
    h_max = 5.0 - 10.0 / config.points  # points fields in [-5, 5) with step 10 / points
    data = f"tfim:spins={config.spins},points={config.points},h_min=-5,h_max={h_max:g}"
    readout = "Z" + "I" * (config.n_qubits - 1)
    return Model("reuploading", config.n_qubits, blocks, readout, data=data,
                 options={"frequency": frequency, "block": block, "encoding_scale": config.encoding_scale})


def _spearman(x, y) -> float:
    """Rank correlation of ``x`` and ``y`` (:func:`scipy.stats.spearmanr`; ``inf`` ranks highest, a training time
    that never ends; NaN left out); NaN when fewer than two points remain or one side is constant."""
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < 2 or np.unique(x[ok]).size < 2 or np.unique(y[ok]).size < 2:
        return math.nan
    return float(stats.spearmanr(x[ok], y[ok]).statistic)


def _bootstrap_spectra(k_train: np.ndarray, resamples: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``lambda_min``, ``lambda_max`` of the mean kernel over resampled initializations, ``(resamples,)`` each."""
    idx = rng.integers(0, k_train.shape[0], (resamples, k_train.shape[0]))
    eig = np.linalg.eigvalsh(k_train[idx].mean(axis=1))
    return eig[:, 0], eig[:, -1]


def run(config: Config, progress: bool = True) -> Result:
    """Diagnoses and trains every model; the claims of 003 as rows (module docstring)."""
    import xarray as xr

    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    fams, depths = list(config.families), list(config.blocks)
    shape = (len(fams), len(depths))
    keys = ("n_params", "lambda_min", "lambda_max", "condition_number", "tau", "eta", "r2_test", "r2_test_trained",
            "r2_train_trained", "abs_diff_train", "abs_diff_test", "K_spread")
    table = {k: np.full(shape, np.nan) for k in keys}
    boot_min, boot_max = np.full(shape + (config.bootstrap,), np.nan), np.full(shape + (config.bootstrap,), np.nan)
    r2_boot = np.full(shape + (config.bootstrap,), np.nan)
    eta_bracket = np.full((len(fams), 2), np.nan)
    probe = model(config, fams[0], depths[0])
    for i, fam in enumerate(fams):
        for j, b in enumerate(depths):
            cfg = diagnose.DiagnoseConfig(model(config, fam, b), samples=config.samples, seed=config.seed,
                                          steps=config.steps, trial_samples=min(8, config.samples), trial_steps=10,
                                          train=True)
            init = diagnose.initial_kernels(cfg)
            r = diagnose.run(cfg, init=init)
            t = r["training"]
            values = {**{k: r[k] for k in ("n_params", "lambda_min", "lambda_max", "condition_number", "tau", "eta",
                                             "r2_test")},
                      "r2_test_trained": t["r2_test_trained"], "r2_train_trained": t["r2_train_trained"],
                      "abs_diff_train": t["abs_diff_train"][-1], "abs_diff_test": t["abs_diff_test"][-1],
                      "K_spread": r["laziness"]["K_spread"]}
            for k, v in values.items():
                table[k][i, j] = np.nan if v is None else v
            tr = init["train"]
            k_tr = init["K"][:, tr][:, :, tr]
            boot_min[i, j], boot_max[i, j] = _bootstrap_spectra(k_tr, config.bootstrap, rng)
            r2_boot[i, j] = _bootstrap_r2(init, r["eta"], config.bootstrap, rng)
            if j == len(depths) // 2:  # the largest convergent learning rate, at the middle depth
                v_max = np.linalg.eigh(k_tr.mean(axis=0))[1][:, -1]
                eta_bracket[i] = diagnose.largest_convergent_eta(cfg, r["eta_crit"], v_max, config.bisection)
            if progress:
                print(f"  {NAME}: {fam} blocks={b} P={r['n_params']} lambda_min={r['lambda_min']:.4g} "
                      f"kappa={r['condition_number']:.4g} R2_test={t['r2_test_trained']:.3f}", flush=True)

    rows = _rows(config, fams, depths, table, boot_min, boot_max, r2_boot, eta_bracket)
    data = xr.Dataset(
        {**{k: (("family", "blocks"), v) for k, v in table.items()},
         "lambda_min_bootstrap": (("family", "blocks", "resample"), boot_min),
         "lambda_max_bootstrap": (("family", "blocks", "resample"), boot_max),
         "eta_max_over_eta_crit": (("family", "bracket"), eta_bracket)},
        coords={"family": fams, "blocks": depths, "bracket": ["converges", "does not converge"]},
    )
    note = (f"re-uploading on {config.n_qubits} qubits, RX(c a_q h) with c = {config.encoding_scale:g}, HEA (RX, RZ, RX "
            f"+ CNOT ring) or HVA (RZZ ring + RX) blocks, Z readout on qubit 0; TFIM m_x(h), N = {config.spins}, "
            f"{config.points} fields in [-5, 5), every other for training; {config.samples} initializations, "
            f"eta = 1 / lambda_max, {config.steps} steps")
    return Result(NAME, data, rows, record(NAME, TITLE, config, probe, note, start))


def _bootstrap_r2(init: dict, eta: float, resamples: int, rng) -> np.ndarray:
    """The predicted test R² (t -> infinity) over resampled initializations."""
    tr, te, y = init["train"], init["test"], init["labels"]
    idx = rng.integers(0, init["K"].shape[0], (resamples, init["K"].shape[0]))
    out = np.empty(resamples)
    for b, sel in enumerate(idx):
        k = init["K"][sel].mean(axis=0)
        f0 = init["f0"][sel].mean(axis=0)
        predict_fn = diagnostics.gradient_descent_mse(k[np.ix_(tr, tr)], y[tr], eta)
        out[b] = diagnostics.r2(y[te], predict_fn(math.inf, f0[tr], f0[te], k[np.ix_(te, tr)])[1])
    return out


def _rows(config, fams, depths, table, boot_min, boot_max, r2_boot, eta_bracket) -> list[dict]:
    rows = []
    mid = depths[len(depths) // 2]
    for i, fam in enumerate(fams):
        P = table["n_params"][i]
        rho = _spearman(P, table["lambda_min"][i])
        boot = [_spearman(P, boot_min[i, :, s]) for s in range(config.bootstrap)]
        rows.append(row(f"{fam}: rank correlation of lambda_min with the number of parameters", 1.0, rho,
                        _sd(boot), "003 Result I: lambda_min grows with parameters; lambda_min = "
                        + ", ".join(f"{v:.3g}" for v in table["lambda_min"][i]) + f" at P = {_ints(P)}"))
        tau_boot = [_spearman(P, [diagnostics.decay_time(1.0 / mx, mn) if mn > diagnostics.RCOND * mx else math.inf
                                  for mn, mx in zip(boot_min[i, :, s], boot_max[i, :, s])])
                    for s in range(config.bootstrap)]
        rows.append(row(f"{fam}: rank correlation of tau (at eta = 1/lambda_max) with the number of parameters", -1.0,
                        _spearman(P, table["tau"][i]), _sd(tau_boot),
                        "003 Result I: training time ~ kappa decreases with parameters; tau = "
                        + ", ".join(f"{v:.3g}" for v in table["tau"][i]) + " steps (inf: a singular kernel)"))
        lo, hi = eta_bracket[i]
        rows.append(row(f"{fam}, {mid} blocks: largest convergent eta / eta_crit (eta_crit = 2 / lambda_max)", 1.0,
                        0.5 * (lo + hi), (hi - lo) / math.sqrt(12), f"003 Result I: maximum learning rate ~ 1 / lambda_max; "
                        f"bisection bracket [{lo:.3g}, {hi:.3g}] (converges: the top-mode residual keeps <= "
                        f"{diagnose.TOP_MODE_LEFT:g} over 60 steps); sem: bracket width / sqrt(12)"))
        rows.append(row(f"{fam}: rank correlation of mean |trained - predicted| (training points) with parameters", -1.0,
                        _spearman(P, table["abs_diff_train"][i]), _EXACT,
                        "003 Result II: closer to the QNTK prediction towards the lazy regime; |trained - predicted| = "
                        + ", ".join(f"{v:.2g}" for v in table["abs_diff_train"][i])
                        + "; K spread = " + ", ".join(f"{v:.2f}" for v in table["K_spread"][i]) + "; no resampling: sem is the float64 resolution"))
        for j, b in enumerate(depths):
            pred = table["r2_test"][i, j]
            if np.isfinite(pred) and pred != 0 and np.isfinite(table["r2_test_trained"][i, j]):
                rows.append(row(f"{fam}, {b} blocks (P = {int(P[j])}): test R², trained vs QNTK-predicted", pred,
                                table["r2_test_trained"][i, j], _sd(r2_boot[i, j]),
                                "003 Result III: kernel-regression prediction at t -> infinity; sem: bootstrap of the "
                                "predicted R² over initializations"))
    for a, b, what, key, sign in (("high", "low", "frequency", "lambda_min", 1), ("hea", "hva", "block", "lambda_min", 1),
                                  ("high", "low", "frequency", "r2_test_trained", -1)):
        pairs = _pairs(fams, a, b, what)
        if not pairs:
            continue
        # a lambda_min below the cut-off of a singular kernel is zero: such pairs have no order and are left out
        singular = table["lambda_min"] <= diagnostics.RCOND * table["lambda_max"]
        wins = [(sign * (table[key][ia] - table[key][ib]) > 0)[~(singular[ia] & singular[ib])] for ia, ib in pairs]
        if sum(w.size for w in wins) == 0:
            continue
        frac = float(np.mean(np.concatenate(wins)))
        claim = ("larger lambda_min" if key == "lambda_min" else "lower trained test R² (overfitting)")
        rows.append(row(f"fraction of depths where {a} has {claim} than {b} ({what})", 1.0, frac, _EXACT,
                        f"003 Result{' I' if key == 'lambda_min' else ' III'}: {a} {claim}; pairs "
                        + "; ".join(f"{fams[ia]} vs {fams[ib]}" for ia, ib in pairs)
                        + f" ({sum(w.size for w in wins)} depths where not both kernels are singular); a count: sem is "
                        "the float64 resolution"))
    return rows


def _pairs(fams, a, b, what) -> list[tuple[int, int]]:
    out = []
    for ia, fa in enumerate(fams):
        fa_freq, fa_block = fa.split("-")
        for ib, fb in enumerate(fams):
            fb_freq, fb_block = fb.split("-")
            if what == "frequency" and (fa_freq, fb_freq) == (a, b) and fa_block == fb_block:
                out.append((ia, ib))
            if what == "block" and (fa_block, fb_block) == (a, b) and fa_freq == fb_freq:
                out.append((ia, ib))
    return out


#: The ``sem`` of a row without sampling error (a count, or a statistic of values not resampled): the float64
#: resolution at 1, so that such a row is within its interval only if it equals the claim.
_EXACT = 4 * float(np.spacing(1.0))


def _sd(values) -> float:
    """Standard deviation of the finite ``values`` (bootstrap resamples), at least :data:`_EXACT`."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return max(float(v.std(ddof=1)) if v.size > 1 else 0.0, _EXACT)


def _ints(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def plot(result: Result):
    """lambda_min, kappa, test R² (predicted dashed, trained solid) and |trained - predicted| vs parameters."""
    from matplotlib.figure import Figure

    d = result.data
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for i, fam in enumerate(d.family.values):
        P = d.n_params.values[i]
        c = f"C{i}"
        axes[0].loglog(P, d.lambda_min.values[i], "o-", color=c, label=str(fam))
        axes[1].loglog(P, d.condition_number.values[i], "o-", color=c, label=str(fam))
        axes[2].semilogx(P, d.r2_test_trained.values[i], "o-", color=c, label=f"{fam}, trained")
        axes[2].semilogx(P, d.r2_test.values[i], "x--", color=c, label=f"{fam}, QNTK-predicted")
        axes[3].loglog(P, d.abs_diff_train.values[i], "o-", color=c, label=f"{fam}, training points")
        axes[3].loglog(P, d.abs_diff_test.values[i], "s:", color=c, mfc="none", label=f"{fam}, test points")
    labels = (("lambda_min of the mean QNTK", "Result I: lambda_min"), ("kappa = lambda_max / lambda_min",
              "Result I: condition number"), ("test R²", "Result III: test R²"),
              ("mean |trained - predicted|", "Result II: trained vs QNTK-predicted"))
    for ax, (ylabel, title) in zip(axes, labels):
        _plot.decorate(ax, "number of parameters P", ylabel, title, title_size=9, legend_size=6)
    fig.suptitle(f"{_plot.title(NAME)}: {TITLE}", fontsize=9)
    return fig
