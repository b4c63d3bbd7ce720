"""Parameter sweeps: a grid of settings, one task per point, merged into one xarray Dataset.

A sweep file (TOML) names the task, the settings shared by every point and the grid::

    task = "kernel"         # "kernel": the ensemble statistics of `qntk kernel`; "train": a run of `qntk train`;
                            # "figure": a run of `qntk reproduce` (below)
    [base]                  # the keys of the command's --config files (model and run settings)
    ansatz = "rpa"
    observable = "xxz:J=2"
    samples = 32
    [grid]                  # one list per swept setting; the points are their product, in this order
    qubits = [2, 3]
    layers = [4, 8, 16]
    seed = [0, 1, 2]

With ``task = "figure"`` a point runs a seed figure (:mod:`qntk.experiments.reproduce`): ``figure`` (in [base]
or [grid]) names it, e.g. ``"004-fig3"``, and the other keys are fields of its ``Config`` (``qubits`` and
``layers`` are read as for ``qntk reproduce --set``; a list for a tuple field), over the figure's paper size.
The point keeps the numbers of the figure's theory-vs-simulation table: the Dataset has a ``row`` dimension,
labelled by each row's quantity (a repeated one numbered ``#2``, ...), and one variable per numeric column,
``theory``, ``simulation``, ``sem``, ``rel_err`` and ``within_ci`` (1.0 or 0.0), with the grid's dimensions
first. Points whose tables have different rows (a label that names a step or a target) leave NaN where a row
is not theirs.

Each point's numbers are kept as ``<out>.points/<key>.json``, ``key`` a hash of everything the point
depends on (task, model and run settings after defaults, or a figure's name and whole ``Config``; qntk's
version), written atomically by whichever process computed it. A sweep run again reads the points that are
there and computes only the others, so an interrupted sweep resumes where it stopped and a repeated one costs
nothing; the merged Dataset does not depend on which run computed which point. A point that fails keeps its one-line error (variable
``error``; ``failed`` is true there and its numbers are NaN), does not stop the others, and is tried
again by the next run.

The merged Dataset is written to ``out``: NetCDF for ``.nc``, a Zarr store (a directory) for ``.zarr``
(``pip install 'qntk[zarr]'``), each written whole or not at all, with the sweep's config and the package
versions as attributes.

Points run in local worker processes (``workers``, default the number of cores; 0 runs them in this
process) or, given the address
of a Dask scheduler, on that cluster (``pip install 'qntk[dask]'``).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__, train
from .. import config as _config
from .._provenance import (
    check_writable,
    finite,
    require_zarr,
    save_netcdf,
    save_zarr,
    use_compilation_cache,
    versions,
    write_atomic,
)
from ..models import Model
from ..models._spec import check_int
from . import kernel_stats, reproduce
from ._table import ROW_KEYS

TASKS = ("kernel", "train", "figure")
"""What a point computes: ``qntk kernel``'s ensemble statistics, a ``qntk train`` run or a figure's table."""

TABLE_COLUMNS = tuple(k for k in ROW_KEYS if k not in ("quantity", "note"))
"""The numeric cells of a figure's table row, one variable each in a figure sweep's Dataset."""

WRITERS = {".nc": save_netcdf, ".zarr": save_zarr}
"""How the merged Dataset is written, by the suffix of ``out``."""

_RUN_CONFIGS = {"kernel": kernel_stats.KernelStatsConfig, "train": train.TrainConfig}


@functools.cache
def _defaults(task: str) -> dict:
    """The settings of a point before its own: the Model's defaults and the task's run defaults."""
    run = {f.name: f.default for f in dataclasses.fields(_RUN_CONFIGS[task]) if f.name != "model"}
    return {**Model().to_dict(), **run}


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: ``task`` (one of :data:`TASKS`), the ``base`` settings of every point and the ``grid``, a list of
    values per swept setting (model or run keys, e.g. ``qubits``, ``layers``, ``target``, ``eta``, ``seed``; for
    ``figure``, ``figure`` and the fields of the figure's ``Config``).

    Every point is built (and so validated) when the config is: a bad value fails before any work.
    """

    task: str
    base: dict
    grid: dict

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}.")
        if not self.grid:
            raise ValueError("the sweep has no [grid]: give at least one setting with a list of values.")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid value of {key!r} must be a non-empty list, e.g. {key} = [1, 2].")
            if len(set(map(json.dumps, values))) != len(values):
                raise ValueError(f"grid value of {key!r} repeats a value: {values}.")
        overlap = set(_setting_names(self.task, self.grid)) & set(_setting_names(self.task, self.base))
        if overlap:
            raise ValueError(f"{sorted(overlap)} appear in both [base] and [grid]: keep each in one place.")
        self.keys  # noqa: B018  (builds, and so validates, every point)

    @functools.cached_property
    def keys(self) -> tuple[str, ...]:
        """The hash of every point (:func:`point_key`), in grid order."""
        return tuple(point_key(self.task, settings) for _, settings in self.points())

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    def points(self) -> Iterator[tuple[tuple[int, ...], dict]]:
        """``(index, settings)`` of every point, in grid order."""
        keys = list(self.grid)
        for index in itertools.product(*(range(n) for n in self.shape)):
            yield index, {**self.base, **{k: self.grid[k][i] for k, i in zip(keys, index)}}

    def to_dict(self) -> dict:
        return {"task": self.task, "base": self.base, "grid": self.grid}


def _setting_names(task: str, values: dict) -> dict:
    """The settings under the names a point reads: the model's field names for ``kernel`` and ``train``; for
    ``figure`` the keys as given (each figure resolves its own, :func:`qntk.experiments.reproduce.field_name`:
    000-fig1's ``layers`` is a field of its own)."""
    return values if task == "figure" else _config._field_names(values)


def load(path: str | Path) -> SweepConfig:
    """Reads a sweep file (see the module docstring).

    Raises:
        ValueError: if the file is missing, is not TOML, or a point's settings are invalid.
    """
    data = _config.read_toml(path)
    unknown = set(data) - {"task", "base", "grid"}
    if unknown:
        raise ValueError(f"unknown entries {sorted(unknown)} in sweep file {str(path)!r}: use task, [base] and [grid].")
    for table in ("base", "grid"):
        if not isinstance(data.get(table, {}), dict):
            raise ValueError(f"[{table}] in sweep file {str(path)!r} must be a table.")
    return SweepConfig(data.get("task", "kernel"), data.get("base", {}), data.get("grid", {}))


def _build(task: str, settings: dict):
    """What one point runs, validated: a :class:`~qntk.experiments.kernel_stats.KernelStatsConfig` or
    :class:`~qntk.train.TrainConfig` from Model and run defaults under the point's settings, or for ``figure``
    the figure module and its ``Config`` (:func:`_figure_point`)."""
    if task == "figure":
        return _figure_point(settings)
    model, run = _config.split_model(_config.merge(_defaults(task), settings, {}))
    return _RUN_CONFIGS[task](model, **run)


def _figure_point(settings: dict):
    """``(module, config)``: the figure named by the setting ``figure`` and its ``Config``, the paper size with
    the other settings as fields (:func:`qntk.experiments.reproduce.with_fields`).

    Raises:
        ValueError: for a missing or unknown figure name (listing the names), or a field the ``Config`` refuses.
    """
    fields = dict(settings)
    name = fields.pop("figure", None)
    if not isinstance(name, str) or name not in reproduce.FIGURES:
        raise ValueError(f"figure must be one of {', '.join(reproduce.FIGURES)} (in [base] or [grid]), got {name!r}.")
    module = reproduce.FIGURES[name]
    return module, reproduce.with_fields(module, module.Config(), fields)


def point_key(task: str, settings: dict) -> str:
    """The hash that names a point's result: task, every setting after defaults (for ``figure``, its name and
    every field of its ``Config``), and qntk's version."""
    cfg = _build(task, settings)
    if task == "figure":
        module, config = cfg
        full = {"task": task, "figure": module.NAME, "config": dataclasses.asdict(config), "qntk": __version__}
    else:
        full = {"task": task, "model": cfg.model.to_dict(),
                "run": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "model"}, "qntk": __version__}
    return hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()[:20]


def run_point(task: str, settings: dict, path: str) -> dict:
    """Computes one point and writes ``{"values": {...}}`` or ``{"error": "..."}`` to ``path`` atomically; returns it.

    The values: for ``kernel`` the ensemble means and spreads of ``qntk kernel --json``; for ``train`` the
    ensemble means at the first and last step (``*_0``, ``*_final``) and, where the run has it, the theory of the
    mean residual at the last step (``eps_theory_final``); for ``figure`` the rows' labels (``row``) and a list
    per column of :data:`TABLE_COLUMNS`, in the table's order.
    """
    try:
        result = {"values": _VALUES[task](_build(task, settings))}
    except Exception as err:  # noqa: BLE001 - a failed point is recorded and the sweep goes on
        result = {"error": f"{type(err).__name__}: {err}".splitlines()[0]}
    write_atomic(path, json.dumps(finite(result), sort_keys=True))
    return result


def _kernel_values(cfg: kernel_stats.KernelStatsConfig) -> dict:
    summary = kernel_stats.summarize(kernel_stats.run(cfg, progress=False))
    return {k: v for k, v in summary.items() if isinstance(v, float) and not k.endswith("time_s")}


def _train_values(cfg: train.TrainConfig) -> dict:
    rows = train.summarize(train.run(cfg, progress=False))["rows"]
    return {f"{k}_{when}": row[k] for when, row in (("0", rows[0]), ("final", rows[-1]))
            for k in ("eps_mean", "abs_eps_mean", "K_mean", "loss_mean", "eps_theory") if k in row}


def _figure_values(point) -> dict:
    module, config = point
    rows = module.run(config, progress=False).rows
    return {"row": _row_labels(rows), **{column: [float(r[column]) for r in rows] for column in TABLE_COLUMNS}}


_VALUES = {"kernel": _kernel_values, "train": _train_values, "figure": _figure_values}
"""The numbers of a point, from what it runs (:func:`_build`), by task."""


def _row_labels(rows: list[dict]) -> list[str]:
    """The rows' quantities, a repeated one numbered (``q``, ``q #2``, ...) so that each label names one row.

    Example:
        >>> _row_labels([{"quantity": "K"}, {"quantity": "mu"}, {"quantity": "K"}])
        ['K', 'mu', 'K #2']
    """
    seen: dict[str, int] = {}
    labels = []
    for r in rows:
        n = seen[r["quantity"]] = seen.get(r["quantity"], 0) + 1
        labels.append(r["quantity"] if n == 1 else f"{r['quantity']} #{n}")
    return labels


def _stored(path: Path) -> dict | None:
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return result if "values" in result else None  # failed points are tried again


def run(config: SweepConfig, out: str | Path, scheduler: str | None = None, workers: int | None = None,
        on_update: Callable[[dict], None] | None = None):
    """Runs the points not stored yet, merges every point and writes the Dataset to ``out`` (NetCDF or Zarr).

    Args:
        config: the sweep.
        out: the NetCDF file (``.nc``) or Zarr store (``.zarr``, replaced if there); the points are kept beside it
            in ``<out>.points/``.
        scheduler: address of a Dask scheduler (``tcp://host:port``) to run the points on; ``None``: local processes.
        workers: local worker processes (default: the number of cores; 0: in this process).
        on_update: called with ``{"points", "done", "running", "failed", "errors"}`` after every finished point.

    Returns:
        ``(dataset, report)``, the report holding ``points``, ``done``, ``failed``, ``computed`` (this run),
        ``errors`` (one line per failed point) and ``out``.

    Raises:
        ValueError: before any work, for a bad ``out`` (:func:`check_out`) or ``workers``.
    """
    if workers is not None:
        check_int("workers", workers, 0)
    out = check_out(out)
    folder = out.with_name(out.name + ".points")
    folder.mkdir(parents=True, exist_ok=True)
    points = [(index, settings, folder / f"{key}.json") for (index, settings), key in zip(config.points(), config.keys)]
    results = {index: _stored(path) for index, _, path in points}
    todo = [(index, settings, path) for index, settings, path in points if results[index] is None]
    status = {"points": len(points), "done": len(points) - len(todo), "running": 0, "failed": 0, "errors": []}

    def finished(index, result):
        results[index] = result
        status["running"] -= 1
        if "error" in result:
            status["failed"] += 1
            status["errors"].append(f"{_describe(config, index)}: {result['error']}")
        else:
            status["done"] += 1
        if on_update:
            on_update(status)

    if todo:
        status["running"] = len(todo)
        if on_update:
            on_update(status)
        runner = _dask if scheduler else _local
        runner(config.task, todo, finished, scheduler if scheduler else workers)
    ds = _dataset(config, results)
    WRITERS[out.suffix](ds, out)
    report = {k: status[k] for k in ("points", "done", "failed", "errors")}
    report.update(computed=len(todo) - status["failed"], out=str(out))
    return ds, report


def check_out(out: str | Path) -> Path:
    """``out`` as a path, refused before any work unless it ends in ``.nc`` or ``.zarr`` (with zarr installed)
    and can be written.

    Raises:
        ValueError: naming ``--out`` and what to do.
    """
    out = Path(out)
    if out.suffix not in WRITERS:
        raise ValueError(f"--out {str(out)!r} must end in .nc (NetCDF) or .zarr (Zarr store).")
    if out.suffix == ".zarr":
        require_zarr(f"--out {str(out)!r} (a Zarr store)")
    return check_writable(out, "--out", directory=out.suffix == ".zarr")


def _describe(config: SweepConfig, index: tuple[int, ...]) -> str:
    return ", ".join(f"{k}={config.grid[k][i]}" for k, i in zip(config.grid, index))


def _local(task, todo, finished, workers):
    """Local worker processes (spawned: JAX is not safe to fork), sharing JAX's persistent compilation cache;
    ``workers=0``: one after another in this process."""
    if workers == 0:
        for index, settings, path in todo:
            finished(index, run_point(task, settings, str(path)))
        return
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context,
                                                initializer=use_compilation_cache) as pool:
        futures = {pool.submit(run_point, task, settings, str(path)): index for index, settings, path in todo}
        for future in concurrent.futures.as_completed(futures):
            finished(futures[future], _outcome(future))


def _dask(task, todo, finished, address):
    """The points as tasks of a Dask cluster."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("--scheduler needs Dask's distributed scheduler: pip install 'qntk[dask]'") from None
    try:
        client = Client(address, timeout="10s")
    except OSError as err:
        raise ValueError(f"no Dask scheduler answers at {address!r} ({err}): start one or drop --scheduler.") from None
    with client:
        client.run(use_compilation_cache)  # the workers share the compiled programs, as the CLI's runs do
        futures = {client.submit(run_point, task, settings, str(path), pure=False): index for index, settings, path in todo}
        for future in as_completed(futures):
            finished(futures[future], _outcome(future))


def _outcome(future) -> dict:
    """A finished point's result; a worker that died (it could not even record an error) counts as a failure."""
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001
        return {"error": f"the worker failed: {type(err).__name__}: {err}".splitlines()[0]}


def _dataset(config: SweepConfig, results: dict):
    """The grid as coordinates, the points' numbers (:func:`_scalar_variables`, :func:`_table_variables`; NaN where
    a point failed or did not run), ``failed`` and ``error``; the sweep's config and qntk's versions as attributes."""
    import xarray as xr

    dims = list(config.grid)
    values = {index: r["values"] for index, r in results.items() if r and "values" in r}
    variables, coords = (_table_variables if config.task == "figure" else _scalar_variables)(config.shape, dims, values)
    failed = np.zeros(config.shape, bool)
    error = np.full(config.shape, "", dtype=object)
    for index, result in results.items():
        if index not in values:
            failed[index] = True
            error[index] = (result or {}).get("error", "not run")
    variables.update(failed=(dims, failed), error=(dims, error.astype(str)))
    coords.update({k: _coordinate(v) for k, v in config.grid.items()})
    return xr.Dataset(variables, coords=coords, attrs={
        "sweep": json.dumps(config.to_dict(), sort_keys=True),
        "versions": json.dumps(versions(), sort_keys=True),
        "failed_points": int(failed.sum()),
    })


def _number(value) -> float:
    return math.nan if value is None else value


def _scalar_variables(shape: tuple[int, ...], dims: list[str], values: dict) -> tuple[dict, dict]:
    """One variable per number of the ``kernel`` and ``train`` points, over the grid; no extra coordinate."""
    names = sorted({k for v in values.values() for k in v})
    data = {name: np.full(shape, np.nan) for name in names}
    for index, numbers in values.items():
        for name, value in numbers.items():
            data[name][index] = _number(value)
    return {name: (dims, array) for name, array in data.items()}, {}


def _table_variables(shape: tuple[int, ...], dims: list[str], values: dict) -> tuple[dict, dict]:
    """One variable per column of :data:`TABLE_COLUMNS` over the grid and ``row``, the coordinate of the rows'
    labels (every point's, in the order they first appear in grid order)."""
    labels = list(dict.fromkeys(label for table in values.values() for label in table["row"]))
    position = {label: i for i, label in enumerate(labels)}
    data = {column: np.full((*shape, len(labels)), np.nan) for column in TABLE_COLUMNS}
    for index, table in values.items():
        rows = [position[label] for label in table["row"]]
        for column in TABLE_COLUMNS:
            data[column][index][rows] = [_number(v) for v in table[column]]
    return {column: ([*dims, "row"], array) for column, array in data.items()}, {"row": np.array(labels, dtype=str)}


def _coordinate(values: list) -> np.ndarray:
    """A grid setting's values as a coordinate; those of a list-valued setting (a figure's tuple field) as text,
    comma-separated as for ``qntk reproduce --set`` (``"4,8,16"``)."""
    if any(isinstance(v, list) for v in values):
        return np.array([",".join(map(str, v)) if isinstance(v, list) else str(v) for v in values])
    return np.asarray(values)
