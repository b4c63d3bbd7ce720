"""Reproduction framework: every registered figure at tiny size, the CLI, and the table arithmetic."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from qntk.experiments import reproduce


def qntk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qntk", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(reproduce.FIGURES))
def test_every_figure_runs_and_writes(name, tmp_path):
    import xarray as xr

    module = reproduce.FIGURES[name]
    assert module.NAME == name and module.TITLE
    result = module.run(quick=True, seed=0, progress=False)
    assert result.name == name and result.rows and result.config["quick"] is True
    paths = reproduce.write(result, tmp_path)
    assert set(paths) == {"png", "nc", "md", "json"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for r in result.rows:
        assert tuple(r) == reproduce.ROW_KEYS
        assert all(math.isfinite(r[k]) for k in ("theory", "simulation", "sem", "rel_err")) and r["sem"] > 0
        assert isinstance(r["within_ci"], bool) and isinstance(r["note"], str)
    saved = json.loads(paths["json"].read_text())
    assert saved["name"] == name and saved["rows"] == result.rows and "jax" in saved["versions"]
    table = paths["md"].read_text().splitlines()
    assert "| quantity | theory | simulation | sem | rel. err. | within CI | note |" in table
    assert sum(line.startswith("| ") for line in table) == len(result.rows) + 1
    with xr.open_dataset(paths["nc"], engine="h5netcdf") as ds:
        assert json.loads(ds.attrs["config"])["figure"] == name and int(ds.attrs["seed"]) == 0
        assert "numpy" in json.loads(ds.attrs["versions"])
        assert set(result.data.data_vars) <= set(ds.data_vars)


def test_row_arithmetic_and_confidence_interval():
    r = reproduce.row("q", theory=2.0, simulation=2.5, sem=0.1, note="n")
    assert tuple(r) == reproduce.ROW_KEYS
    assert r["rel_err"] == pytest.approx(0.25) and r["note"] == "n"
    assert not r["within_ci"]  # 0.5 > 3 x 0.1
    assert reproduce.row("q", -2.0, -2.0 + 0.99 * reproduce.Z * 0.1, 0.1)["within_ci"]
    assert not reproduce.row("q", -2.0, -2.0 - 1.01 * reproduce.Z * 0.1, 0.1)["within_ci"]
    assert reproduce.row("q", -2.0, -1.0, 0.1)["rel_err"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-zero theory"):
        reproduce.row("q", 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="finite"):
        reproduce.row("q", 1.0, float("nan"), 0.1)


def test_paired_and_std_rows_use_the_sample_standard_errors():
    p = reproduce.paired_row("q", [1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 4.0, 5.0])
    assert (p["theory"], p["simulation"]) == (1.5, 3.0)
    assert p["sem"] == pytest.approx(np.std([0.0, 1.0, 2.0, 3.0], ddof=1) / 2)
    x = np.array([-1.0, 1.0, -3.0, 3.0])
    s = reproduce.std_row("q", np.full(4, 4.0), x)
    assert s["theory"] == pytest.approx(2.0) and s["simulation"] == pytest.approx(np.std(x, ddof=1))
    d = x**2 - 4.0
    assert s["sem"] == pytest.approx(np.std(d, ddof=1) / (2 * np.std(x, ddof=1) * 2))


def test_cli_list_and_unknown_name():
    out = qntk("reproduce", "--list", "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["figures"]
    assert [f["name"] for f in listed] == list(reproduce.FIGURES)
    assert all(f["title"] == reproduce.FIGURES[f["name"]].TITLE for f in listed)
    text = qntk("reproduce", "--list")
    assert text.returncode == 0 and all(name in text.stdout for name in reproduce.FIGURES)
    bad = qntk("reproduce", "001-fig99")
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1 and "Traceback" not in bad.stderr
    assert lines[0].startswith("qntk: error: unknown figure '001-fig99'") and "001-fig2" in lines[0]


def test_cli_quick_json(tmp_path):
    from typer.testing import CliRunner

    from qntk.cli import app

    out = CliRunner().invoke(app, ["reproduce", "001-fig4", "--quick", "--json", "--out", str(tmp_path), "--seed", "3"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["name"] == "001-fig4" and result["rows"]
    assert set(result["files"]) == {"png", "nc", "md", "json"}
    assert json.loads((tmp_path / "001-fig4.json").read_text())["config"]["seed"] == 3


def test_figure_modules_import_on_their_own():
    """A figure module imported first (before the registry) loads: the registry is built on first use."""
    code = "import qntk.experiments.fig_000_3 as m; from qntk.experiments import reproduce; print(m.NAME, len(reproduce.FIGURES))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["000-fig3", str(len(reproduce.FIGURES))]
