"""qntk sweep: a grid of tasks merged into one Dataset; finished points cached by the hash of their settings, so
that a killed sweep resumes and equals an uninterrupted one bit for bit; failed points reported, not fatal; the
same sweep on a Dask LocalCluster."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_runner import qntk

from qntk.experiments import reproduce, sweep

BASE = {"ansatz": "rpa", "observable": "xxz:J=2", "samples": 4}


def small(**grid) -> sweep.SweepConfig:
    return sweep.SweepConfig("kernel", BASE, grid or {"layers": [2, 3], "seed": [0, 1]})


def write(path, config: sweep.SweepConfig):
    lines = [f'task = "{config.task}"', "[base]"] + [f"{k} = {json.dumps(v)}" for k, v in config.base.items()]
    lines += ["[grid]"] + [f"{k} = {json.dumps(v)}" for k, v in config.grid.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def same_numbers(a: xr.Dataset, b: xr.Dataset):
    assert a.identical(b)
    for name in a.data_vars:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


@pytest.mark.parametrize(("task", "base", "grid", "match"), [
    ("fit", {}, {"seed": [0]}, "task must be one of"),
    ("kernel", {}, {}, "has no \\[grid\\]"),
    ("kernel", {}, {"seed": 3}, "must be a non-empty list"),
    ("kernel", {}, {"seed": [1, 1]}, "repeats a value"),
    ("kernel", {"qubits": 2}, {"n_qubits": [2, 3]}, "both \\[base\\] and \\[grid\\]"),
    ("kernel", {}, {"qubits": [2, 0]}, "n_qubits must be a positive integer"),
    ("kernel", {}, {"colour": [1]}, "unknown config keys"),
    ("train", {}, {"eta": [0.1, -1.0]}, "eta must be a positive number"),
    ("figure", {}, {"seed": [0]}, "figure must be one of 000-fig1, .*004-fig9 .*got None"),
    ("figure", {"n_qubits": 2}, {"figure": ["004-fig3", "004-fig99"]}, "figure must be one of .*got '004-fig99'"),
    ("figure", {"figure": "004-fig3"}, {"colour": [1]}, "unknown field 'colour' for 004-fig3: valid fields are n_qubits"),
    ("figure", {"figure": "004-fig3"}, {"eta": [0.1, -1.0]}, "^004-fig3: eta must be a positive number"),
    ("figure", {"figure": "000-fig1"}, {"layers": [[4, 8], [4, 0]]}, "^000-fig1: layers\\[1\\] must be an integer >= 1"),
    ("figure", {"figure": "004-fig3", "qubits": 3}, {"n_qubits": [2]}, "n_qubits is given twice"),
    ("figure", {"figure": "004-fig3", "seed": 1}, {"seed": [2]}, "both \\[base\\] and \\[grid\\]"),
])
def test_every_point_is_validated_before_any_work(task, base, grid, match):
    with pytest.raises(ValueError, match=match):
        sweep.SweepConfig(task, base, grid)


def test_grid_merged_with_its_coordinates_and_a_repeat_costs_nothing(tmp_path):
    config = small()
    ds, report = sweep.run(config, tmp_path / "a.nc", workers=0)
    assert report == {"points": 4, "done": 4, "failed": 0, "errors": [], "computed": 4, "out": str(tmp_path / "a.nc")}
    assert dict(ds.sizes) == {"layers": 2, "seed": 2} and list(ds.layers.values) == [2, 3]
    point = sweep.run_point("kernel", {**BASE, "layers": 3, "seed": 1}, str(tmp_path / "one.json"))
    assert ds.K_mean.sel(layers=3, seed=1).item() == point["values"]["K_mean"]
    assert not ds.failed.any() and json.loads(ds.attrs["sweep"])["grid"] == config.grid
    again, report = sweep.run(config, tmp_path / "a.nc")
    assert report["computed"] == 0
    same_numbers(again, xr.open_dataset(tmp_path / "a.nc"))


def test_a_failed_point_is_one_line_and_the_others_finish(tmp_path):
    """A point too large for the machine fails when it runs (its settings are valid); the rest of the grid is done."""
    config = sweep.SweepConfig("kernel", {"ansatz": "rpa", "observable": "xxz:J=2"}, {"samples": [4, 10**11]})
    ds, report = sweep.run(config, tmp_path / "f.nc", workers=0)
    assert (report["done"], report["failed"]) == (1, 1)
    (line,) = report["errors"]
    assert line.startswith("samples=100000000000: ValueError") and "\n" not in line
    assert list(ds.failed.values) == [False, True] and np.isnan(ds.K_mean.values[1]) and ds.error.values[0] == ""
    out = qntk("sweep", str(write(tmp_path / "f.toml", config)), "--out", str(tmp_path / "f.nc"), "--workers", "0", "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["failed"] == 1  # failed points are tried again


def test_killed_sweep_resumes_and_equals_an_uninterrupted_one_bit_for_bit(tmp_path):
    config = sweep.SweepConfig("kernel", {**BASE, "samples": 64}, {"seed": list(range(12))})
    path = write(tmp_path / "s.toml", config)
    cmd = [sys.executable, "-m", "qntk", "sweep", str(path), "--out", str(tmp_path / "killed.nc"), "--workers", "1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    points = tmp_path / "killed.nc.points"
    deadline = time.time() + 240
    while time.time() < deadline and not list(points.glob("*.json")):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list(points.glob("*.json")))
    assert 1 <= kept < 12 and not (tmp_path / "killed.nc").exists()
    resumed = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout)
    assert resumed["computed"] == 12 - kept and resumed["done"] == 12
    uninterrupted, _ = sweep.run(config, tmp_path / "whole.nc", workers=0)
    same_numbers(xr.open_dataset(tmp_path / "killed.nc"), uninterrupted)


def test_the_same_sweep_on_a_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed", reason="needs qntk[dask]")
    config = small(seed=[0, 1, 2])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask, report = sweep.run(config, tmp_path / "dask.nc", scheduler=cluster.scheduler_address)
    assert report["computed"] == 3
    local, _ = sweep.run(config, tmp_path / "local.nc", workers=0)
    same_numbers(on_dask, local)


def test_cli_refuses_an_unreachable_scheduler_in_one_line(tmp_path):
    out = qntk("sweep", str(write(tmp_path / "s.toml", small())), "--scheduler", "tcp://127.0.0.1:9", "--json")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no Dask scheduler answers" in out.stderr


@pytest.mark.slow
def test_the_shipped_example_sweep(tmp_path):
    """examples/sweep.toml: at least 50 points, on the local processes, in a few minutes on two cores."""
    config = sweep.load(Path(__file__).parents[2] / "examples" / "sweep.toml")
    assert np.prod(config.shape) >= 50
    start = time.time()
    ds, report = sweep.run(config, tmp_path / "example.nc")
    assert report["failed"] == 0 and report["done"] == np.prod(config.shape) and time.time() - start < 600
    assert (ds.K_mean > 0).all()


def quick_figure(name: str) -> dict:
    """The settings of a figure sweep at the figure's ``QUICK`` size, all but the seed."""
    quick = dataclasses.asdict(reproduce.get(name).QUICK)
    return {"figure": name, **{k: list(v) if isinstance(v, tuple) else v for k, v in quick.items() if k != "seed"}}


def test_a_figure_sweep_holds_each_points_table_by_row_label(tmp_path):
    """Each point's table equals a direct run of the figure at its config; a row another point lacks is NaN."""
    config = sweep.SweepConfig("figure", quick_figure("001-fig2"), {"seed": [0, 1]})
    ds, report = sweep.run(config, tmp_path / "fig.nc", workers=0)
    assert report["done"] == 2 and ds.theory.dims == ("seed", "row")
    module = reproduce.get("001-fig2")
    for seed in (0, 1):
        rows = module.run(dataclasses.replace(module.QUICK, seed=seed), progress=False).rows
        labels = sweep._row_labels(rows)
        point = ds.sel(seed=seed)
        for column in sweep.TABLE_COLUMNS:
            assert list(point[column].sel(row=labels).values) == [float(r[column]) for r in rows], column
        assert point.theory.drop_sel(row=labels).isnull().all()
    assert set(sweep.TABLE_COLUMNS) == {"theory", "simulation", "sem", "rel_err", "within_ci"}


def test_a_figure_points_hash_names_the_figure_and_every_field_after_defaults():
    """004-fig3's Config has 004-fig2's fields: the same settings of the two figures are two points."""
    settings = {"n_qubits": 3, "seed": 1}
    key = sweep.point_key("figure", {"figure": "004-fig3", **settings})
    assert key != sweep.point_key("figure", {"figure": "004-fig2", **settings})
    assert key != sweep.point_key("figure", {"figure": "004-fig3", **settings, "seed": 2})
    paper = reproduce.get("004-fig3").Config()
    assert key == sweep.point_key("figure", {"figure": "004-fig3", "qubits": 3, "seed": 1, "eta": paper.eta})


def test_the_shipped_figure_sweep_is_valid():
    """examples/sweep_figure.toml names a figure and fields it has (every point is validated when loaded)."""
    config = sweep.load(Path(__file__).parents[2] / "examples" / "sweep_figure.toml")
    assert (config.task, config.base["figure"], config.shape) == ("figure", "004-fig3", (4,))


def test_a_list_valued_grid_setting_is_a_text_coordinate():
    config = sweep.SweepConfig("figure", {"figure": "000-fig1"}, {"layers": [[4, 8], [16]]})
    ds = sweep._dataset(config, {(0,): None, (1,): {"error": "ValueError: no"}})
    assert list(ds.layers.values) == ["4,8", "16"] and ds.sizes["row"] == 0
    assert list(ds.error.values) == ["not run", "ValueError: no"]


def test_zarr_store_equals_the_netcdf_file_of_the_same_sweep_and_is_replaced_whole(tmp_path):
    config = small()
    ds, _ = sweep.run(config, tmp_path / "s.zarr", workers=0)
    sweep.run(config, tmp_path / "s.nc", workers=0)
    stored, netcdf = xr.open_zarr(tmp_path / "s.zarr"), xr.open_dataset(tmp_path / "s.nc")
    assert stored.identical(netcdf) and stored.identical(ds) and stored.attrs == ds.attrs
    for name in [*stored.data_vars, *stored.coords]:
        assert stored[name].dtype == netcdf[name].dtype and np.array_equal(stored[name].values, netcdf[name].values), name
    (tmp_path / "s.zarr" / "stale").write_text("from an earlier run")
    _, report = sweep.run(config, tmp_path / "s.zarr")
    assert report["computed"] == 0 and not (tmp_path / "s.zarr" / "stale").exists()
    assert xr.open_zarr(tmp_path / "s.zarr").identical(netcdf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nc", "s.nc.points", "s.zarr", "s.zarr.points"]


def test_a_failed_zarr_write_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    config = small()
    sweep.run(config, tmp_path / "s.zarr", workers=0)
    before = xr.open_zarr(tmp_path / "s.zarr").load()

    def half_written(ds, store, **kwargs):
        (Path(store) / "zarr.json").write_text("{")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", half_written)
    with pytest.raises(OSError, match="disk full"):
        sweep.run(config, tmp_path / "s.zarr")
    assert xr.open_zarr(tmp_path / "s.zarr").identical(before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr", "s.zarr.points"]


def test_out_other_than_nc_or_zarr_and_zarr_without_zarr_are_refused_before_any_work(tmp_path, monkeypatch):
    path = write(tmp_path / "s.toml", small())
    out = qntk("sweep", str(path), "--out", str(tmp_path / "s.h5"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "--out" in out.stderr and "must end in .nc (NetCDF) or .zarr (Zarr store)" in out.stderr
    monkeypatch.setitem(sys.modules, "zarr", None)  # as if zarr were not installed
    with pytest.raises(ValueError, match=r"^--out '.*s\.zarr' \(a Zarr store\) needs zarr: pip install 'qntk\[zarr\]'$"):
        sweep.run(small(), tmp_path / "s.zarr")
    assert list(tmp_path.iterdir()) == [path]


def test_cli_runs_a_figure_sweep_to_zarr(tmp_path):
    (tmp_path / "bad.toml").write_text('task = "figure"\n[base]\nfigure = "004-fig99"\n[grid]\nseed = [0]\n')
    out = qntk("sweep", str(tmp_path / "bad.toml"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "figure must be one of 000-fig1" in out.stderr
    path = write(tmp_path / "fig.toml", sweep.SweepConfig("figure", quick_figure("001-fig2"), {"seed": [3]}))
    out = qntk("sweep", str(path), "--out", str(tmp_path / "fig.zarr"), "--workers", "0", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["done"] == 1
    ds = xr.open_zarr(tmp_path / "fig.zarr")
    module = reproduce.get("001-fig2")
    rows = module.run(dataclasses.replace(module.QUICK, seed=3), progress=False).rows
    assert list(ds.row.values) == sweep._row_labels(rows)
    assert list(ds.simulation.sel(seed=3).values) == [r["simulation"] for r in rows]
