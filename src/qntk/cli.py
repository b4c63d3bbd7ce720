"""The ``qntk`` command line: a thin dispatcher over :mod:`qntk.experiments`.

Every expected error (bad flag values, bad config files, unknown names) is printed as one line on
stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import json
import re
import sys
import time
import typing
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import config as _config
from . import train as _train
from ._provenance import check_writable, finite, use_compilation_cache, versions, write_atomic, write_json
from .experiments import bench as _bench
from .experiments import diagnose as _diagnose
from .experiments import diagnose_report
from .experiments import kernel_stats, papers
from .experiments import reproduce as _rep
from .experiments import sweep as _sweep
from .models import Model
from .models._spec import QntkWarning
from .models.ansatze import ANSATZE
from .theory import linear_loss
from .theory import predict as _predict
from .theory import unavailable as _theory_unavailable
from .theory.diagnostics import LAZINESS_CHECKS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain text: "qntk[bench]" is an extra, not markup
    help="qntk: predict, simulate and diagnose QNN training with the quantum neural tangent kernel.",
)

_MODEL_HELP = "Model"
Ansatz = Annotated[Optional[str], typer.Option(
    help=", ".join(ANSATZE) + ". rpa-local is the random Pauli ansatz of Zhang et al. (Nat. Commun. 2024) with random "
         "local circuits as W_l (an approximate 2-design, not Haar; no d x d matrix, for many qubits); its rounds per "
         "W_l are options.depth in --config, 2n by default.", rich_help_panel=_MODEL_HELP)]
Qubits = Annotated[Optional[int], typer.Option(help="Number of qubits n.", rich_help_panel=_MODEL_HELP)]
Layers = Annotated[
    Optional[int],
    typer.Option(help="Depth: parametrized layers L (rpa, rpa-local, periodic) or blocks (hea, hva, reuploading).", rich_help_panel=_MODEL_HELP),
]
ObservableOpt = Annotated[
    Optional[str],
    typer.Option(
        help="xxz[:J=2], tfim[:h=1], random[:terms=10,seed=0], projector[:seed=0|zero], pauli:ZII[,gamma=2], or a Pauli sum '0.5*XXI - ZII'.",
        rich_help_panel=_MODEL_HELP,
    ),
]
Target = Annotated[Optional[float], typer.Option(help="Target value O_0 of the loss (eps = <O> - O_0).", rich_help_panel=_MODEL_HELP)]
Scale = Annotated[
    Optional[float],
    typer.Option(help="Generator scale s in exp(-i s theta G): 0.5 (Zhang et al. 2024), -1 (Liu et al. 2023), 1 (You et al. 2023).", rich_help_panel=_MODEL_HELP),
]
ConfigFile = Annotated[Optional[Path], typer.Option("--config", help="TOML file with the same keys as the flags; flags win.")]
Circuits = Annotated[Optional[int], typer.Option(help="Random circuits drawn from the ansatz.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a table.")]
Out = Annotated[Optional[Path], typer.Option("--out", help="Also write the full JSON result (config, seed, versions) to this file.")]


def _expected_errors(command):
    """Turns a ``ValueError`` (bad input) into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValueError as err:
            print(f"qntk: error: {err}", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper


#: The model options, declared once and added to every command that takes a model (:func:`_model_command`).
ModelFile = Annotated[Optional[Path], typer.Option(
    "--model", help="A Python file defining a PennyLane qnode(theta) and n_params, or a Qiskit circuit and observable "
                    "(SparsePauliOp), plus n_features and qnode(theta, x) or features for --data; replaces --ansatz, "
                    "--qubits, --layers and (unless given) --observable.",
    rich_help_panel=_MODEL_HELP)]
_MODEL_OPTIONS = {"ansatz": Ansatz, "qubits": Qubits, "layers": Layers, "observable": ObservableOpt, "target": Target,
                  "scale": Scale, "model_file": ModelFile}


#: Options of a command that are not model or run settings (they are passed to it by name).
_NOT_SETTINGS = ("config", "as_json", "out", "checkpoint", "theory", "recommend_target", "html")


#: The model every command starts from (``--ansatz`` ... ``--target`` override it): the quick start's.
DEFAULT_TARGET = -6.0


#: The default model, built once.
_DEFAULT_MODEL = Model(target=DEFAULT_TARGET)


def _model_defaults() -> dict:
    return _DEFAULT_MODEL.to_dict()


def _with_default(annotation, value):
    """``annotation`` (``Annotated[type, typer.Option(...)]``) with ``value`` shown as the default in ``--help``."""
    base, info = typing.get_args(annotation)[:2]
    info = copy.copy(info)
    info.show_default = str(value)
    return Annotated[base, info]


def _model_command(defaults: dict):
    """Gives the command (whose first parameters are ``settings, config, as_json``) the model options,
    ``--config`` and ``--json``. Its own options other than :data:`_NOT_SETTINGS` declare the
    command line; their values reach it, with the model options', as one dict ``settings`` (``None``
    where not given), ready for :func:`_settings` with the run settings' ``defaults`` (shown in ``--help``
    with the model's). Every expected error becomes one line."""
    shown = {**_model_defaults(), "qubits": _DEFAULT_MODEL.n_qubits, "layers": _DEFAULT_MODEL.n_layers,
             "scale": "the ansatz's own", **defaults}

    def decorate(command):
        own = inspect.signature(command, eval_str=True).parameters
        model = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                   annotation=_with_default(annotation, shown[name]) if shown.get(name) is not None
                                   else annotation)
                 for name, annotation in _MODEL_OPTIONS.items()]
        rest = [p.replace(annotation=_with_default(p.annotation, defaults[name]))
                if defaults.get(name) is not None and p.default is None else p
                for name, p in own.items() if name not in ("settings", "config", "as_json")]
        shared = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)
                  for name, annotation, default in (("config", ConfigFile, None), ("as_json", Json, False))]

        @functools.wraps(command)
        def wrapper(**kwargs):
            settings = {name: kwargs.pop(name) for name in list(kwargs) if name not in _NOT_SETTINGS}
            return command(settings=settings, **kwargs)

        wrapper.__signature__ = inspect.Signature(model + rest + shared)
        return _expected_errors(wrapper)

    return decorate


def _settings(run_defaults: dict, config_file: Path | None, flags: dict):
    """Model and run settings: command-line flags over the TOML file over the defaults; ``--model FILE`` (or
    ``model_file`` in the TOML file) sets the model from a PennyLane or Qiskit file."""
    defaults = {**_model_defaults(), **run_defaults, "model_file": None}
    values = _config.merge(defaults, _config.load_toml(config_file) if config_file else {}, flags)
    path = values.pop("model_file")
    if path is not None:
        if flags.get("ansatz") or flags.get("qubits") or flags.get("layers"):
            raise ValueError("--model gives the circuit: drop --ansatz, --qubits and --layers.")
        given = flags.get("observable")
        file_model = Model.from_file(path, observable=given)
        values.update(ansatz="file", n_qubits=file_model.n_qubits, n_layers=file_model.n_layers,
                      observable=file_model.observable, options=file_model.options, scale=None)
    return _config.split_model(values)


def _outputs(**paths: Path | None) -> None:
    """Refuses, before any work, output files (``--out``, ``--html``, ``--checkpoint``) that cannot be written."""
    for option, path in paths.items():
        if path is not None:
            check_writable(path, f"--{option}")


_NUMBER = re.compile(r"^\s*(|[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?|[-+]?inf|nan|None)\s*$")


def _show(renderable) -> None:
    """Prints tables so that no number is ever cut: a column of numbers is at least as wide as its widest number
    and its header's longest word (text columns wrap instead). Piped or redirected, or on a terminal too narrow
    for those widths, tables print at their natural width, one line per row (ASCII rules when piped)."""
    tables = [t for t in (renderable.renderables if isinstance(renderable, Group) else [renderable])
              if isinstance(t, Table)]
    for table in tables:
        for column in table.columns:
            cells = [str(c) for c in column.cells]
            if cells and all(_NUMBER.match(c) for c in cells):
                words = str(column.header).split() or [""]
                column.min_width = max(max(len(c) for c in cells), max(len(w) for w in words))
    console = Console()
    wide = console.options.update(width=100_000)
    if not console.is_terminal or Measurement.get(console, console.options, renderable).minimum > console.width:
        if not console.is_terminal:
            for table in tables:
                table.box = box.ASCII
        console = Console(width=max(console.width, Measurement.get(console, wide, renderable).maximum))
    console.print(renderable)


def _status(message: str, show: bool):
    """A spinner on stderr saying what a long step is doing and why (nothing when ``show`` is false)."""
    return Console(stderr=True).status(message) if show else contextlib.nullcontext()


def _times(wall: float, **parts: float | None) -> str:
    """The time the user waited, and what it went to (``parts`` in seconds; None: not done)."""
    spent = {name: seconds for name, seconds in parts.items() if seconds is not None}
    other = wall - sum(spent.values())
    if other >= 0.05:  # building circuits and data, checks, writing
        spent["other"] = other
    return f"{wall:.1f} s in all: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.items())


def _warn(messages: list[str]) -> None:
    """Each warning of a result (also in its JSON under ``warnings``) as one line on stderr."""
    for message in messages:
        print(f"qntk: warning: {message}", file=sys.stderr)


def _emit(result: dict, as_json: bool, out: Path | None, table) -> None:
    result = finite(result)
    if out is not None:
        write_json(out, result)
    if as_json:
        print(json.dumps(result, sort_keys=True))
    else:
        _show(table)
        if out is not None:
            Console().print(f"wrote {out}")


_KERNEL_DEFAULTS = {"samples": 1000, "circuits": 1, "seed": 0}


@app.command()
@_model_command(_KERNEL_DEFAULTS)
def kernel(
    settings: dict,
    config: Path | None,
    as_json: bool,
    samples: Annotated[Optional[int], typer.Option(help="Angle vectors per circuit.")] = None,
    circuits: Circuits = None,
    seed: Annotated[Optional[int], typer.Option(help="Master seed (circuits and angles).")] = None,
    theory: Annotated[bool, typer.Option(help="Put the Haar predictions beside the statistics.")] = True,
    out: Out = None,
) -> None:
    """Ensemble statistics of K, mu, lambda and zeta at initialization, beside their Haar predictions.

    Example: qntk kernel --ansatz rpa --qubits 4 --layers 40 --observable xxz:J=2 --target -6 --samples 1000
    """
    _outputs(out=out)
    model, run_settings = _settings(_KERNEL_DEFAULTS, config, settings)
    cfg = kernel_stats.KernelStatsConfig(model, **run_settings)
    layered = model.evaluation == "layered"  # a function-evaluated model file has no theory (the table says so)
    missing = _theory_unavailable(model) if theory and layered else None
    warnings = [] if missing is None else [f"{missing}: the theory is left out"]
    _warn(warnings)
    start = time.perf_counter()
    summary = kernel_stats.summarize(kernel_stats.run(cfg, progress=not as_json))
    summary["evaluation"] = model.evaluation
    summary["warnings"] = warnings
    if theory and layered and not warnings:
        with _status("theory: exact Haar averages (Weingarten sums; the first time at this size takes up to a "
                     "minute, then they are cached on disk)", not as_json):
            theory_start = time.perf_counter()
            summary["theory"] = _predict(model)
            summary["theory_time_s"] = time.perf_counter() - theory_start
    summary["wall_time_s"] = time.perf_counter() - start
    _emit(summary, as_json, out, _kernel_table(summary))


def _fmt(value) -> str:
    """A number in a table: 4 significant digits (the JSON output has them all)."""
    return "" if value is None else f"{value:.4g}"


def _kernel_table(s: dict) -> Table:
    m = s["config"]["model"]
    title = (
        f"{m['ansatz']} n={m['n_qubits']} L={m['n_layers']} O={m['observable']} O_0={m['target']}: "
        f"{s['n_circuits']} circuit(s) x {s['samples_per_circuit']} angle vectors; "
        + _times(s["wall_time_s"], compile=s["compile_time_s"], simulation=s["time_s"] - s["compile_time_s"],
                 theory=s.get("theory_time_s"))
    )
    table = Table(title=title)
    for col in ("quantity", "mean", "std", "sem"):
        table.add_column(col, justify="right" if col != "quantity" else "left")
    names = {"eps": "eps", "K": "K (QNTK)", "mu": "mu (dQNTK)", "lambda": "lambda = mu/K", "zeta": "zeta = eps mu/K^2"}
    th = s.get("theory", {})
    if th:
        table.add_column("theory mean", justify="right")
        table.add_column("theory std", justify="right")
    for q, label in names.items():
        cells = [_fmt(s[f'{q}_{k}']) for k in ("mean", "std", "sem")]
        if th:
            cells += [_fmt(th.get(f"{q}_mean")), _fmt(th.get(f"{q}_std"))]
        table.add_row(label, *cells)
    ratios = [f"dK/K = {s['dK_over_K']:.4g}"]
    for key, label, eq in (("lambda_ratio", "mu_mean/K_mean", "40"), ("zeta_ratio", "mean(eps mu)/K_mean^2", "39")):
        ratios.append(f"{label} = {s[key]:.4g}" + (f" (theory {th[key]:.4g}, Zhang et al. 2024 eq. {eq})" if key in th else ""))
    if th.get("approximate_design"):
        ratios.append(f"theory: Haar averages, which {m['ansatz']}'s random local gates approach as an approximate "
                      "2-design (measured distances: docs/rpa_local.md)")
    if s.get("evaluation") == "function":
        ratios.append("evaluated as the model file's function, differentiated by JAX (no layered form, so no Haar theory)")
    table.caption = "; ".join(ratios)
    return table


_TRAIN_DEFAULTS = {f: getattr(_train.TrainConfig, f)
                   for f in ("eta", "steps", "samples", "circuits", "seed", "loss", "sigma", "shots", "record_mu",
                             "snapshot_every")}


@app.command("train")
@_model_command(_TRAIN_DEFAULTS)
def train_cmd(
    settings: dict,
    config: Path | None,
    as_json: bool,
    eta: Annotated[Optional[float], typer.Option(help="Learning rate.")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Gradient-descent steps.")] = None,
    samples: Annotated[Optional[int], typer.Option(help="Initializations per circuit.")] = None,
    circuits: Circuits = None,
    seed: Annotated[Optional[int], typer.Option(help="Master seed (circuits, angles, noise).")] = None,
    loss: Annotated[
        Optional[str], typer.Option(help="quadratic ((<O> - O_0)^2 / 2), linear (<O>) or supervised (sum of squared residuals over the data; the default with --data).")
    ] = None,
    data: Annotated[
        Optional[str],
        typer.Option(help="Data set of the supervised loss: orthogonal[:m=4,seed=0,kind=haar] (input states) or "
                          "tfim[:spins=6,points=20,h_min=0,h_max=2] (features, for --ansatz reuploading)."),
    ] = None,
    sigma: Annotated[Optional[float], typer.Option(help="Gaussian angle noise per step (Liu, Lin, Jiang 2024, eq. 28).")] = None,
    shots: Annotated[Optional[int], typer.Option(help="Measurements per expectation value (default: exact).")] = None,
    record_mu: Annotated[Optional[bool], typer.Option("--record-mu", help="Also record mu(t).")] = None,
    snapshot_every: Annotated[Optional[int], typer.Option(help="Steps between theta snapshots.")] = None,
    checkpoint: Annotated[
        Optional[Path], typer.Option(help="Checkpoint file: saved every 30 s and on Ctrl-C, resumed from if present.")
    ] = None,
    theory: Annotated[bool, typer.Option(help="Put the theory of the mean residual beside the simulation.")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the run (xarray Dataset) to this NetCDF file.")] = None,
) -> None:
    """Gradient descent on an ensemble of initializations, recording eps(t), K(t) and the loss; for the
    quadratic loss the table sets the theory of the mean residual beside the simulation.

    Example: qntk train --qubits 2 --layers 64 --observable xxz:J=2 --target -5 --eta 1e-3 --steps 1000 --samples 50 --out run.nc
    """
    _outputs(out=out, checkpoint=checkpoint)
    model, run_settings = _settings(_TRAIN_DEFAULTS, config, settings)
    cfg = _train.TrainConfig(model, theory=theory, **run_settings)
    ds = _train.run(cfg, progress=not as_json, checkpoint=checkpoint)
    if "resumed_from_step" in ds.attrs:
        print(f"qntk: resumed from step {ds.attrs['resumed_from_step']} of checkpoint {checkpoint}", file=sys.stderr)
    if out is not None:
        _train.save(ds, out)
    summary = _train.summarize(ds)
    _warn(summary["warnings"])
    _emit(summary, as_json, None, _train_table(summary, cfg))
    if out is not None and not as_json:
        Console().print(f"wrote {out}")


#: Target of ``qntk train`` when none is given: inside the spectrum of the default XXZ observable
#: ([-14, 8.74] for n = 4, J = 2, open chain), away from its Haar mean 0, so that the residual has far to decay.


def _train_table(s: dict, cfg) -> Table:
    th, model, data = s.get("theory"), cfg.model, cfg.model.dataset
    task = f"O_0={model.target:g}" if data is None else f"data={data.name} ({len(data)} points)"
    table = Table(title=f"qntk train: {model.ansatz} n={model.n_qubits} L={model.n_layers} O={model.observable} {task} "
                        f"loss={cfg.loss} eta={cfg.eta:g}, {s['n_samples']} runs")
    cols = {"step": "step", "eps_mean": "mean eps", "eps_sem": "sem"}
    if th:
        cols |= {"eps_theory": "theory (Haar law)", "eps_eq10": "eq. (10) at K̄", "eps_lv": "Lotka-Volterra"}
    frozen = "eps_frozen_rms" in s["rows"][0]
    if frozen:
        cols |= {"eps_rms": "rms mean eps", "eps_frozen_rms": "frozen QNTK"}
    cols |= {"K_mean": "mean K"}
    if th:
        cols |= {"K_lv": "K, Lotka-Volterra"}
    elif frozen:
        cols |= {"loss_mean": "mean loss"}
        if "sublinear_bound" in s:
            cols |= {"loss_bound": "bound (Thm 3.2)"}
        if "asymptotic_distance" in s:
            cols |= {"loss_asymptotic": "asymptotic (eq. 119)"}
    else:
        cols |= {"abs_eps_mean": "mean |eps|", "loss_mean": "mean loss"}  # with theory: in --json
    for label in cols.values():
        table.add_column(label, justify="right")
    for r in s["rows"]:
        table.add_row(*(str(r[k]) if k == "step" else _fmt(r[k]) for k in cols))
    if th:
        drift = s["rows"][-1]["K_mean"] / s["rows"][0]["K_mean"] - 1.0
        table.caption = escape(
            "theory: the frozen-QNTK decay of Liu et al. (PRL 2023) eq. (10) averaged over the Haar law of (eps(0), K), with exact "
            f"Haar K̄ = {th['K_mean']:.4g}, Delta K = {th['K_std']:.4g}, E[eps(0)] = {th['eps_mean']:.4g}, "
            f"Cov(eps(0), K) = {th['cov_eps_K']:.4g}; both theory columns assume K(t) = K(0). "
            f"Here mean K moved by {drift:+.0%} over the run"
            + (": K is not frozen (each step moves it by -2 eta mu eps, the dQNTK term of Liu et al. 2023 eq. (13); the "
               "concentration conditions of its eq. (16) need a wider model)." if abs(drift) > 0.05 else ".")
            + f" Late-time regime (Zhang et al., Nat. Commun. 2024): predicted {s['regime_predicted']} "
            f"(O_0 = {model.target:g} against the spectrum [{th['O_min']:.4g}, {th['O_max']:.4g}]), measured "
            + (s["regime_measured"] or "nothing")
            + ("" if s["regime_measurement"]["resolved"] else " (the run is too short to tell)")
            + "; the Lotka-Volterra columns follow its line from the model alone."
        )
    if frozen:
        drift = s["rows"][-1]["K_mean"] / s["rows"][0]["K_mean"] - 1.0
        table.caption = escape(
            "rms mean eps: the ensemble-mean residual of each datum, rms over the data; frozen QNTK: the same for "
            "(1 - eta K̄)^t E[eps(0)] with the mean kernel matrix and residuals at t = 0 (the "
            f"frozen-QNTK prediction formula of Scala, Zoufal, Gerace, Tacchino 2025; qntk diagnose); mean K (trace over "
            f"data) moved by {drift:+.0%} over the run" + (", so the kernel is not frozen." if abs(drift) > 0.05 else "."))
    if s.get("spectrum_drift") is not None:
        text = (f"Unitarity (You et al., ICML 2023): the spectrum of M(theta(t)) = U^dagger O U stayed that of O to "
                f"{s['spectrum_drift']:.1e} over the snapshots of every run")
        if "sublinear_bound" in s:
            b = s["sublinear_bound"]
            text += (f"; every run's loss {'stayed' if b['holds'] else 'did NOT stay'} above its sublinear bound "
                     f"1/(c0 + c1 t)^2 of Thm 3.2 (c1 = {b['c1']:.4g}; the column is the bound of the mean loss, "
                     f"c0 = {b['c0']:.4g}; smallest loss/bound {b['min_ratio']:.3g})")
        if "asymptotic_distance" in s:
            text += (f"; the asymptotic column is the loss of the p -> infinity dynamics of M (its eq. (119)) from each "
                     f"run's own M(theta(0)), {s['asymptotic_distance']:.3g} of L(0) away at most (mean over runs)")
        table.caption = (table.caption + " " if table.caption else "") + escape(text + ".")
    if "phase_predicted" in s:
        table.caption = (table.caption + " " if table.caption else "") + escape(
            f"Late-time class of training on {len(data)} orthonormal states (several-data extension of Zhang et al., "
            f"npj Quantum Inf. 2025): predicted {s['phase_predicted']} (per datum: "
            f"{', '.join(s['phase_prediction']['types'])}), measured {s['phase_measured']} (per datum: "
            f"{', '.join(s['phase_measurement']['types'])}).")
    if "times" in s:
        t = s["times"]
        took = _times(t["wall_s"], theory=t["theory_s"] or None, compile=t["compile_s"], simulation=t["simulation_s"],
                      checks=t["checks_s"] if t.get("checks_s", 0.0) >= 0.05 else None)
        table.caption = (table.caption + " " if table.caption else "") + f"Took {took}."
    return table




_PREDICT_DEFAULTS = {"eta": None, "sigma": None, "precision": None}


@app.command()
@_model_command(_PREDICT_DEFAULTS)
def predict(
    settings: dict,
    config: Path | None,
    as_json: bool,
    eta: Annotated[Optional[float], typer.Option(help="Learning rate: adds the decay rate, L_star and the concentration verdicts.")] = None,
    sigma: Annotated[Optional[float], typer.Option(help="Gaussian angle noise: adds the late-time plateau of eps^2.")] = None,
    precision: Annotated[Optional[float], typer.Option(help="Target relative error eps_r: adds the steps needed.")] = None,
    recommend_target: Annotated[bool, typer.Option(
        "--recommend-target", help="With --eta: the target O_0 below O_min that reaches the ground state fastest, and its "
        "predicted speed-up over the linear loss and the critical target (Zhang et al., Nat. Commun. 2024).")] = False,
    out: Out = None,
) -> None:
    """Theory only (no simulation): Haar averages at initialization, frozen-kernel and late-time dynamics.

    Example: qntk predict --qubits 4 --layers 40 --observable xxz:J=2 --target -6 --eta 1e-3 --sigma 1e-3 --precision 1e-3
    """
    _outputs(out=out)
    model, run = _settings(_PREDICT_DEFAULTS, config, settings)
    if recommend_target and (run["eta"] is None or model.dataset is not None):
        raise ValueError("--recommend-target needs --eta and a model without data (it recommends the target O_0).")
    with _status("theory: exact Haar averages (the first time at this size takes up to a minute, then they are "
                 "cached on disk)", not as_json):
        result = _predict(model, **run)
    _warn(result.get("warnings", []))
    if recommend_target:
        result["recommended_target"] = linear_loss.recommend_target(model, run["eta"])
    result.update(config={"model": model.to_dict(), **run}, versions=versions())
    table = Table(title=f"qntk predict: {model.ansatz} n={model.n_qubits} L={model.n_layers} O={model.observable} O_0={model.target}")
    table.add_column("quantity")
    table.add_column("prediction", justify="right")
    for key, value in result.items():
        if key in ("concentration", "recommended_target"):
            prefix = "recommended: " if key == "recommended_target" else ""
            for k, v in value.items():
                table.add_row(prefix + k, _fmt(v) if isinstance(v, float) else str(v))
        elif key not in ("config", "versions"):
            table.add_row(key, _fmt(value) if isinstance(value, float) else str(value))
    _emit(result, as_json, out, table)


_DIAGNOSE_DEFAULTS = {f: getattr(_diagnose.DiagnoseConfig, f)
                      for f in ("n_train", "split", "samples", "seed", "eta", "fraction", "steps", "tolerance",
                                "precision", "train", "shots")}


@app.command()
@_model_command(_DIAGNOSE_DEFAULTS)
def diagnose(
    settings: dict,
    config: Path | None,
    as_json: bool,
    data: Annotated[Optional[str], typer.Option(
        help="Data set of a supervised model: tfim[:spins=6,points=20,h_min=..,h_max=..] (features) or orthogonal[:m=4] "
             "(input states). Without it the model is diagnosed as the optimization of <O> towards --target.")] = None,
    n_train: Annotated[Optional[int], typer.Option(help="Training points (the rest are test points); default half.")] = None,
    split: Annotated[Optional[str], typer.Option(help="interleaved (every other point trains; default) or random.")] = None,
    samples: Annotated[Optional[int], typer.Option(help="Initializations averaged over.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Master seed (the initializations of qntk train with that seed).")] = None,
    eta: Annotated[Optional[float], typer.Option(help="Learning rate; default --fraction times eta_crit.")] = None,
    fraction: Annotated[Optional[float], typer.Option(help="eta / eta_crit when --eta is not given (default 0.5: eta = 1/lambda_max).")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Horizon: train-set predictions at this step; --train trains this long.")] = None,
    tolerance: Annotated[Optional[float], typer.Option(help="Largest relative change of K that counts as lazy (default 0.1).")] = None,
    precision: Annotated[Optional[float], typer.Option(help="Relative error for steps_to_precision (default 1e-3).")] = None,
    train: Annotated[Optional[bool], typer.Option("--train", help="Also train, and compare the trained predictions with the "
                                                  "QNTK ones over time; check that training above eta_crit fails.")] = None,
    shots: Annotated[Optional[int], typer.Option(help="Measurements per expectation value in training: adds the shot-noise "
                                                 "floor of the residuals.")] = None,
    theory: Annotated[bool, typer.Option(help="Add the Haar theory of an optimization model.")] = True,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML report (plots inline, "
                                                  "no network needed) to this file.")] = None,
    out: Out = None,
) -> None:
    """Before training: the QNTK spectrum at initialization, the critical learning rate, the training time, the
    frozen-QNTK predictions on training and test points, and whether the kernel stays lazy (Scala, Zoufal,
    Gerace, Tacchino, 2025). Without model options it runs the built-in example: their TFIM-magnetization
    regression with a re-uploading model.

    Example: qntk diagnose --train; qntk diagnose --ansatz rpa --qubits 4 --layers 40 --target -6
    """
    _outputs(out=out, html=html)
    example = config is None and all(settings[k] is None for k in (*_MODEL_OPTIONS, "data"))
    model, run = _settings({**(_diagnose.EXAMPLE.to_dict() if example else {}), **_DIAGNOSE_DEFAULTS}, config, settings)
    result = _diagnose.run(_diagnose.DiagnoseConfig(model, theory=theory, **run), progress=not as_json)
    if html is not None:
        write_atomic(html, diagnose_report.html(finite(result)))
    _emit(result, as_json, out, _diagnose_tables(result, example))
    if html is not None and not as_json:
        Console().print(f"wrote {html}")




def _diagnose_tables(r: dict, example: bool):
    m = r["config"]["model"]
    data = m["data"] if isinstance(m["data"], str) else (m["data"] or {}).get("name")
    task = f"data={data}, {r['n_train']} train / {r['n_test']} test points" if r["task"] == "supervised" else f"O_0={m['target']:g}"
    evaluated = "" if r["evaluation"] == "layered" else ", evaluated as the framework's function (no layered form)"
    head = Table(title=f"qntk diagnose{' (built-in example)' if example else ''}: {m['ansatz']}{evaluated} n={m['n_qubits']} "
                       f"L={m['n_layers']} ({r['n_params']} parameters) O={m['observable']} {task}, "
                       f"{r['config']['samples']} initializations")
    head.add_column("quantity")
    head.add_column("value", justify="right")
    head.add_column("meaning")
    for key, meaning in _diagnose.quantities(r):
        head.add_row(key, _fmt(r[key]), meaning)
    lz = r["laziness"]
    lazy = Table(title="laziness check")
    for col in ("check", "relative change of K", "lazy", "what"):
        lazy.add_column(col, justify="right" if col != "what" else "left")
    for key, what in LAZINESS_CHECKS.items():
        ok = lz[f"{key}_lazy"]
        lazy.add_row(key, _fmt(lz[key]), "n/a" if ok is None else ("yes" if ok else "[bold red]no[/]"), escape(what))
    lazy.caption = escape(lz["verdict"] + f" (tolerance {lz['tolerance']:g}).")
    parts = [head, lazy]
    if r["task"] == "optimization" and r["theory"] is not None:
        th = r["theory"]
        keys = ("K_mean", "decay_rate", "steps_to_precision", "regime", "O_min", "O_max", "R", "K_inf", "lambda_inf")
        theory = Table(title="theory of the model (Haar averages at initialization; late-time regime of Zhang et al., "
                             "Nat. Commun. 2024)")
        theory.add_column("quantity")
        theory.add_column("prediction", justify="right")
        for key in keys:
            if key in th:
                theory.add_row(key, _fmt(th[key]) if isinstance(th[key], float) else str(th[key]))
        parts.append(theory)
    if "shot_noise" in r:
        noise = Table(title="shot-noise floor (linearized training with measured residuals and gradients)")
        noise.add_column("quantity")
        noise.add_column("value", justify="right")
        for label, value in _diagnose.shot_noise_rows(r):
            noise.add_row(escape(label), value if isinstance(value, str) else _fmt(value))
        parts.append(noise)
    if "training" in r:
        t = r["training"]
        comp = Table(title=f"trained at eta = {t['eta']:.4g} for {t['steps']} steps, from the same initializations")
        comp.add_column("quantity")
        comp.add_column("value", justify="right")
        comp.add_row("mean |trained - predicted|, training points (end)", _fmt(t["abs_diff_train"][-1]))
        if "abs_diff_test" in t:
            comp.add_row("mean |trained - predicted|, test points (end)", _fmt(t["abs_diff_test"][-1]))
            comp.add_row("R² trained, training points", _fmt(t["r2_train_trained"]))
            comp.add_row("R² trained, test points", _fmt(t["r2_test_trained"]))
        d = t["divergence"]
        comp.add_row("top-mode residual left (second half / start), at eta", _fmt(d["top_mode_at_eta"]))
        comp.add_row(f"the same at eta = {d['eta']:.4g} (above eta_crit)", _fmt(d["top_mode_above"]))
        comp.add_row("training above eta_crit fails, as predicted", "yes" if d["diverges"] else "[bold red]no[/]")
        parts.append(comp)
    head.caption = escape(r["loss_normalization"] + ". Predictions: the frozen-QNTK formula of Scala, Zoufal, Gerace, "
                          "Tacchino (2025) at the mean kernel and mean outputs of the initializations.")
    return Group(*parts)


@app.command()
@_expected_errors
def bench(
    workload: Annotated[str, typer.Option(help="rpa-train (004's RPA training step), rpa-hessian (mu and the loss Hessian), "
                                               "hea-train (hardware-efficient ansatz, up to 20 qubits), tfim-kernel (003's "
                                               "re-uploading model: the kernel matrix of the TFIM data set) or compile "
                                               "(compile time and memory vs L).")] = "rpa-train",
    qubits: Annotated[int, typer.Option(help="Number of qubits n.")] = 6,
    layers: Annotated[int, typer.Option(help="Depth L.")] = 192,
    batch: Annotated[int, typer.Option(help="Angle vectors B per step.")] = 10,
    repeats: Annotated[int, typer.Option(help="Timed repeats (the shortest is reported).")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the circuit and angles.")] = 0,
    reference: Annotated[
        bool, typer.Option(help="Also time the peers in the same run (all in qntk[bench]): the TensorCircuit-ng construction "
                                "for the RPA (its compile time grows with L), PennyLane default.qubit and lightning.qubit "
                                "and Qiskit for the HEA, PennyLane for tfim-kernel.")
    ] = True,
    as_json: Json = False,
    out: Out = None,
    report: Annotated[Optional[Path], typer.Option(help="Run the standard workloads (RPA n = 4..8, its Hessian at n = 6, "
                                                       "HEA n = 12..20, the TFIM kernel matrix, compile time vs L; about "
                                                       "half an hour on two cores) and write "
                                                       "their Markdown table to this file (docs/benchmarks.md).")] = None,
) -> None:
    """Time the engine against a reference measured in the same run.

    Example: qntk bench --workload rpa-train --qubits 6 --layers 192 --batch 10 --json
    """
    _outputs(out=out, report=report)
    if report is not None:
        with _status("timing the standard workloads and their peers (about half an hour on two cores)", True):
            text = _bench.report(on_result=lambda r: print(f"done: {r['workload']} n={r['n_qubits']}", file=sys.stderr))
        write_atomic(report, text)
        Console().print(f"wrote {report}")
        return
    cfg = _bench.BenchConfig(workload, qubits, layers, batch, repeats, seed, reference)
    peers = {"hea-train": "PennyLane and Qiskit", "tfim-kernel": "PennyLane"}.get(
        workload, "the TensorCircuit-ng reference (its compile time grows with the depth: a minute or more at L of a few "
        "hundred)")
    what = f"timing {workload}" + (f" against {peers}" if reference and workload != "compile" else "")
    with _status(what, not as_json):
        result = _bench.run(cfg)
    table = Table(title=f"qntk bench {workload} ({result['device']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if key not in ("versions", "rows", "references"):
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) else escape(str(value)))
    for row in result.get("rows", []):
        table.add_row(f"compile_time_s (L={row['n_layers']})", f"{row['compile_time_s']:.4g}")
        table.add_row(f"temp_bytes (L={row['n_layers']})", str(row["temp_bytes"]))
    for ref in result.get("references", []):
        if "skipped" in ref:
            table.add_row(ref["name"], escape(f"skipped: {ref['skipped']}"))
            continue
        for key in ("step_time_s", "compile_time_s", "speedup", "max_abs_diff", "peak_memory_bytes"):
            if key in ref:
                table.add_row(f"{ref['name']} {key}", f"{ref[key]:.4g}")
    _emit(result, as_json, out, table)


@app.command()
@_expected_errors
def sweep(
    config: Annotated[Path, typer.Argument(help="The sweep file (TOML): task, [base] and [grid]; see examples/sweep.toml "
                                                       "and examples/sweep_figure.toml.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Where the merged results go: a NetCDF file (.nc) or a "
                                                "Zarr store (.zarr, needs qntk[zarr]; replaced if there); default: "
                                                "the sweep file's name with .nc. Finished points are kept beside it "
                                                "in <out>.points/.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Address of a Dask scheduler (tcp://host:port) to run the "
                                                           "points on (needs qntk[dask]); default: local processes.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Local worker processes (default: the number of cores; 0: in "
                                                         "this process, one point after another).")] = None,
    as_json: Json = False,
) -> None:
    """Run a grid of kernel-statistics, training or figure tasks, merged into one xarray Dataset (NetCDF or Zarr).

    Rerunning the same command resumes an interrupted sweep (finished points are read, not computed again);
    a failed point is reported in one line and does not stop the others.

    Example: qntk sweep examples/sweep.toml --out sweep.nc; qntk sweep examples/sweep_figure.toml --out fig3.zarr
    """
    cfg = _sweep.load(config)
    out = _sweep.check_out(out if out is not None else config.with_suffix(".nc"))
    start = time.perf_counter()
    with Progress(TextColumn("sweep {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=as_json) as bar:
        task = bar.add_task("", total=len(cfg.keys))

        def update(status):
            bar.update(task, completed=status["done"] + status["failed"],
                       description=f"{status['done']} done, {status['running']} running, {status['failed']} failed")

        _, report = _sweep.run(cfg, out, scheduler=scheduler, workers=workers, on_update=update)
    report["wall_time_s"] = time.perf_counter() - start
    if as_json:
        print(json.dumps(report, sort_keys=True))
    else:
        Console().print(f"{report['points']} points: {report['done']} done ({report['computed']} computed now), "
                        f"{report['failed']} failed; wrote {out} in {report['wall_time_s']:.1f} s")
        for line in report["errors"]:
            print(f"qntk: failed point: {line}", file=sys.stderr)
    if report["failed"]:
        raise typer.Exit(1)


@app.command()
@_expected_errors
def reproduce(
    name: Annotated[Optional[str], typer.Argument(help="Figure name (see --list), or 'all'.")] = None,
    list_figures: Annotated[bool, typer.Option("--list", help="List the reproducible figures and exit.")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="Tiny version (seconds) instead of the seed's size.")] = False,
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", metavar="FIELD=VALUE",
                     help="Change one setting of the figure (repeatable; lists comma-separated, e.g. layers=4,8,16). "
                          "Fields: those of the figure's Config (a wrong one gets the list)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for <name>.png, .nc, .md and .json.")] = Path("qntk-out"),
    seed: Annotated[Optional[int], typer.Option(help="Master seed (circuits, angles, noise); the figure's own (0) if not given.")] = None,
    as_json: Json = False,
) -> None:
    """Reproduce a seed figure: simulation, plot, data, and a table of theory vs numerics.

    Example: qntk reproduce 001-fig3 --out results/; qntk reproduce 000-fig1 --set n_qubits=5 --set samples=40
    """
    if list_figures:
        figures = [{"name": n, "title": m.TITLE} for n, m in _rep.FIGURES.items()]
        if as_json:
            print(json.dumps({"figures": figures}))
        else:
            table = Table(title="qntk reproduce: figures")
            table.add_column("name")
            table.add_column("title")
            for f in figures:
                table.add_row(f["name"], f["title"])
            table.caption = escape("; ".join(f"{prefix}: {paper}" for prefix, paper in papers.FULL.items()))
            _show(table)
        return
    if name is None:
        raise ValueError(f"give a figure name ({', '.join(_rep.FIGURES)}) or 'all', or --list to list them.")
    if name == "all" and set_:
        raise ValueError("--set changes one figure's settings: give a figure name, not 'all' (the figures have different fields).")
    names = list(_rep.FIGURES) if name == "all" else [_rep.get(name).NAME]
    check_writable(out, "--out", directory=True)
    done = _rep.run_all(out, quick=quick, seed=seed, progress=not as_json, names=names, overrides=set_ or ())
    results = [{"name": r.name, "rows": r.rows, "config": r.config["config"], "files": {k: str(v) for k, v in paths.items()}}
               for r, paths in done]
    if as_json:
        print(json.dumps(results[0] if name != "all" else {"figures": results}))
        return
    for result, paths in done:
        table = Table(title=papers.heading(result.name, result.config["title"]) + _rep.size_note(result.config))
        for col in ("#", "quantity", "theory", "simulation", "sem", "rel. err.", f"within {_rep.Z:g} sem"):
            table.add_column(col, justify="left" if col == "quantity" else "right")
        for i, r in enumerate(result.rows, 1):
            table.add_row(str(i), escape(r["quantity"]), *(_fmt(r[k]) for k in ("theory", "simulation", "sem")),
                          f"{r['rel_err']:.2%}", "yes" if r["within_ci"] else "[bold red]no[/]")
        notes = Table.grid(padding=(0, 1))  # the notes under the table: text, wrapped at the screen's width
        notes.add_column(justify="right")
        notes.add_column()
        for i, r in enumerate(result.rows, 1):
            notes.add_row(f"{i}.", escape(r["note"]))
        cited = sorted(set(re.findall(r"(?<![\d.])(00[0-4])\b", " ".join(r["quantity"] + " " + r["note"] for r in result.rows)
                                                       + result.config["title"])))
        for seed in cited:  # the papers the rows cite by number
            notes.add_row(seed, escape(papers.FULL.get(seed, "")))
        _show(table)
        Console().print(notes)
        Console().print("wrote " + ", ".join(map(str, paths.values())))


def _one_line_warnings() -> None:
    """qntk's own warnings (:class:`~qntk.models._spec.QntkWarning`) print as one line on stderr."""
    default = warnings.formatwarning

    def fmt(message, category, filename, lineno, line=None):
        if issubclass(category, QntkWarning):
            return f"qntk: warning: {message}\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = fmt


def main() -> None:
    """Console entry point. A usage error (an unknown command or option, a value of the wrong type) is one line on
    stderr, with the command's ``--help`` to read and any "did you mean" hint, and exit status 2."""
    use_compilation_cache()
    _one_line_warnings()
    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="qntk", standalone_mode=False)
    except typer.Abort:
        print("qntk: aborted.", file=sys.stderr)
        code = 130
    except typer.exceptions.TyperException as err:  # click's UsageError and its kin
        ctx = getattr(err, "ctx", None)
        if ctx is not None and type(err).__name__ == "NoArgsIsHelpError":
            print(ctx.get_help())
            raise SystemExit(0) from None
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(err.format_message().split())
        print(f"qntk: error: {message}{where}", file=sys.stderr)
        code = getattr(err, "exit_code", 2)
    raise SystemExit(code or 0)
