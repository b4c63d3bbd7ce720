"""Parameter sweeps: a grid of settings, one task per point, merged into one xarray Dataset.

A sweep file (TOML) names the task, the settings shared by every point and the grid::

    task = "kernel"         # "kernel": the ensemble statistics of `qntk kernel`; "train": a run of `qntk train`
    [base]                  # the keys of the command's --config files (model and run settings)
    ansatz = "rpa"
    observable = "xxz:J=2"
    samples = 32
    [grid]                  # one list per swept setting; the points are their product, in this order
    qubits = [2, 3]
    layers = [4, 8, 16]
    seed = [0, 1, 2]

Each point's numbers are kept as ``<out>.points/<key>.json``, ``key`` a hash of everything the point
depends on (task, model and run settings, qntk's version), written atomically by whichever process
computed it. A sweep run again reads the points that are there and computes only the others, so an
interrupted sweep resumes where it stopped and a repeated one costs nothing; the merged Dataset does not
depend on which run computed which point. A point that fails keeps its one-line error (variable
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
from . import kernel_stats

TASKS = ("kernel", "train")
"""What a point computes: ``qntk kernel``'s ensemble statistics, or a ``qntk train`` run."""

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
    values per swept setting (model or run keys, e.g. ``qubits``, ``layers``, ``target``, ``eta``, ``seed``).

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
        overlap = set(_config._field_names(self.grid)) & set(_config._field_names(self.base))
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
    """The run config of one point (a :class:`~qntk.experiments.kernel_stats.KernelStatsConfig` or
    :class:`~qntk.train.TrainConfig`), from Model and run defaults under the point's settings."""
    model, run = _config.split_model(_config.merge(_defaults(task), settings, {}))
    return _RUN_CONFIGS[task](model, **run)


def point_key(task: str, settings: dict) -> str:
    """The hash that names a point's result: task, every setting after defaults, and qntk's version."""
    cfg = _build(task, settings)
    full = {"task": task, "model": cfg.model.to_dict(),
            "run": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "model"}, "qntk": __version__}
    return hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()[:20]


def run_point(task: str, settings: dict, path: str) -> dict:
    """Computes one point and writes ``{"values": {...}}`` or ``{"error": "..."}`` to ``path`` atomically; returns it.

    The values are scalars: for ``kernel`` the ensemble means and spreads of ``qntk kernel --json``; for
    ``train`` the ensemble means at the first and last step (``*_0``, ``*_final``) and, where the run has it, the
    theory of the mean residual at the last step (``eps_theory_final``).
    """
    try:
        cfg = _build(task, settings)
        if task == "kernel":
            summary = kernel_stats.summarize(kernel_stats.run(cfg, progress=False))
            values = {k: v for k, v in summary.items() if isinstance(v, float) and not k.endswith("time_s")}
        else:
            rows = train.summarize(train.run(cfg, progress=False))["rows"]
            values = {f"{k}_{when}": row[k] for when, row in (("0", rows[0]), ("final", rows[-1]))
                      for k in ("eps_mean", "abs_eps_mean", "K_mean", "loss_mean", "eps_theory") if k in row}
        result = {"values": values}
    except Exception as err:  # noqa: BLE001 - a failed point is recorded and the sweep goes on
        result = {"error": f"{type(err).__name__}: {err}".splitlines()[0]}
    write_atomic(path, json.dumps(finite(result), sort_keys=True))
    return result


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
    """The grid as coordinates, one variable per number (NaN where a point failed or did not run), ``failed``
    and ``error``; the sweep's config and qntk's versions as attributes."""
    import xarray as xr

    dims = list(config.grid)
    names = sorted({k for r in results.values() if r and "values" in r for k in r["values"]})
    data = {name: np.full(config.shape, np.nan) for name in names}
    failed = np.zeros(config.shape, bool)
    error = np.full(config.shape, "", dtype=object)
    for index, result in results.items():
        if result and "values" in result:
            for name, value in result["values"].items():
                data[name][index] = math.nan if value is None else value
        else:
            failed[index] = True
            error[index] = (result or {}).get("error", "not run")
    variables = {name: (dims, values) for name, values in data.items()}
    variables.update(failed=(dims, failed), error=(dims, error.astype(str)))
    coords = {k: np.asarray(v) for k, v in config.grid.items()}
    return xr.Dataset(variables, coords=coords, attrs={
        "sweep": json.dumps(config.to_dict(), sort_keys=True),
        "versions": json.dumps(versions(), sort_keys=True),
        "failed_points": int(failed.sum()),
    })

