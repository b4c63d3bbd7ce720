"""The reproduction registry: discovery, every figure at QUICK size, configuration by FIELD=VALUE, the CLI."""

import dataclasses
import json
import math
import subprocess
import sys
import textwrap

import pytest
from cli_runner import qntk

from qntk.experiments import _table, figures, papers, reproduce


def test_registry_finds_every_figure_module_by_name():
    assert list(reproduce.FIGURES) == sorted(reproduce.FIGURES)
    assert {"000-fig1", "000-fig2", "000-fig3", "001-fig2", "001-fig3", "001-fig4"} <= set(reproduce.FIGURES)
    for name, module in reproduce.FIGURES.items():
        assert module.NAME == name and module.TITLE and module.__name__.startswith("qntk.experiments.figures.seed")
        assert dataclasses.is_dataclass(module.Config) and isinstance(module.QUICK, module.Config)
        assert module.Config.__dataclass_params__.frozen and "seed" in module.Config.__dataclass_fields__
    with pytest.raises(ValueError, match="unknown figure '001-fig99'.*000-fig1"):
        reproduce.get("001-fig99")


@pytest.mark.parametrize("name", list(reproduce.FIGURES))
def test_every_figure_runs_at_quick_size_and_writes(name, quick_result, tmp_path):
    import xarray as xr

    module = reproduce.FIGURES[name]
    result = quick_result(name)
    assert result.name == name and result.rows
    assert result.config["config"] == dataclasses.asdict(module.QUICK) and result.config["paper_size"] is False
    paths = reproduce.write(result, tmp_path)
    assert set(paths) == {"png", "nc", "md", "json"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for r in result.rows:
        assert tuple(r) == _table.ROW_KEYS
        assert all(math.isfinite(r[k]) for k in ("theory", "simulation", "sem", "rel_err"))
        assert r["sem"] > 0 or (_table.is_bound(r) and r["sem"] == 0)  # an inequality has no sampling error
        assert isinstance(r["within_ci"], bool) and isinstance(r["note"], str)
    text = paths["json"].read_text()
    assert "NaN" not in text and "Infinity" not in text  # standard JSON
    saved = json.loads(text)
    assert saved["name"] == name and saved["rows"] == result.rows and "jax" in saved["versions"]
    assert module.Config(**saved["config"]["config"]) == module.QUICK  # the written config rebuilds the run's
    table = paths["md"].read_text().splitlines()
    assert table[0].startswith(f"# {name} (") and "This run is not at the paper's size" in table[0]
    assert "| quantity | theory | simulation | sem | rel. err. | within CI | note |" in table
    assert sum(line.startswith("| ") for line in table) == len(result.rows) + 1
    with xr.open_dataset(paths["nc"], engine="h5netcdf") as ds:
        config = json.loads(ds.attrs["config"])
        assert config["figure"] == name and config["config"] == saved["config"]["config"] and int(ds.attrs["seed"]) == 0
        assert "numpy" in json.loads(ds.attrs["versions"])
        assert set(result.data.data_vars) <= set(ds.data_vars)


@pytest.mark.parametrize("name", list(reproduce.FIGURES))
def test_config_defaults_are_valid_and_every_field_is_checked(name):
    """``Config()`` (the paper size) builds; a wrong type or an out-of-range value of any field raises one
    ValueError naming it."""
    module = reproduce.FIGURES[name]
    paper = module.Config()
    for field in dataclasses.fields(module.Config):
        bad_range = (-1,) if isinstance(getattr(paper, field.name), tuple) else -1
        for bad in ("x", bad_range):
            with pytest.raises(ValueError, match=rf"^{field.name}\b") as err:
                dataclasses.replace(paper, **{field.name: bad})
            assert "\n" not in str(err.value)


def test_configure_reads_values_by_field_type():
    fig1, fig2, fig4 = reproduce.get("000-fig1"), reproduce.get("000-fig2"), reproduce.get("001-fig4")
    assert reproduce.configure(fig1) == fig1.Config() and reproduce.configure(fig1, quick=True) == fig1.QUICK
    cfg = reproduce.configure(fig1, quick=True, overrides=["n_qubits=3", "layers=4, 12", "seed=5"])
    assert (cfg.n_qubits, cfg.layers, cfg.seed, cfg.circuits) == (3, (4, 12), 5, fig1.QUICK.circuits)
    assert reproduce.configure(fig2, overrides=["qubits=3", "layers=16", "eta=2e-3"]) == fig2.Config(
        n_qubits=3, n_layers=16, eta=2e-3)  # the CLI's spellings, where the figure has no such field
    assert reproduce.configure(fig4, overrides=["etas=1e-3,0.01"]).etas == (1e-3, 0.01)
    for overrides, match in (
        (["foo=1"], r"unknown field 'foo' for 000-fig1: valid fields are n_qubits, layers, circuits"),
        (["n_qubits=two"], r"n_qubits takes an integer, got 'two'"),
        (["layers=4,x"], r"layers takes a comma-separated list, each an integer"),
        (["samples=2.5"], r"samples takes an integer"),
        (["n_qubits"], r"is not FIELD=VALUE"),
        (["circuits=1"], r"^000-fig1: circuits must be an integer >= 2, got 1\.$"),
        (["layers=4,0"], r"layers\[1\] must be an integer >= 1"),
    ):
        with pytest.raises(ValueError, match=match):
            reproduce.configure(fig1, overrides=overrides)
    with pytest.raises(ValueError, match="eta must be a positive number"):
        reproduce.configure(fig2, overrides=["eta=-1"])
    with pytest.raises(ValueError, match="eta must be a finite real number"):
        reproduce.configure(fig2, overrides=["eta=nan"])


FAKE_FIGURE = '''
"""A figure that exists only in this test."""
import dataclasses

from qntk.experiments._table import Result, row, settings

NAME = "999-fig1"
TITLE = "a test figure"


@dataclasses.dataclass(frozen=True)
class Config:
    label: str = "a"
    flag: bool = False
    values: tuple[float, ...] = (1.0, 2.0)
    seed: int = 0


QUICK = Config(label="quick")


def run(config, progress=True):
    return Result(NAME, None, [row("sum", 3.0, sum(config.values), 0.1)], dict(title=TITLE, **settings(config)))


def plot(result):
    from matplotlib.figure import Figure

    return Figure()
'''


def test_a_new_figure_is_one_new_module(tmp_path, monkeypatch):
    """A module dropped into a package under qntk.experiments.figures is registered, configurable and
    recorded, with no other change."""
    package = tmp_path / "seed999"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "fig1.py").write_text(textwrap.dedent(FAKE_FIGURE))
    monkeypatch.setattr(figures, "__path__", [*figures.__path__, str(tmp_path)])
    try:
        found = reproduce._discover()
    finally:
        for key in [k for k in sys.modules if ".seed999" in k]:
            del sys.modules[key]
    assert list(found) == sorted(found) and "999-fig1" in found
    module = found["999-fig1"]
    cfg = reproduce.configure(module, quick=True, overrides=["flag=true", "values=0.5,1,1.5", "label=b c"])
    assert cfg == module.Config(label="b c", flag=True, values=(0.5, 1.0, 1.5))
    result = module.run(cfg)
    assert result.config["changed"] == {"label": "b c", "flag": True, "values": (0.5, 1.0, 1.5)}
    assert _table.markdown(result).startswith(
        "# 999-fig1: a test figure. This run is not at the paper's size: label=b c (paper: a), flag=True (paper: False), "
        "values=0.5,1.0,1.5 (paper: 1.0,2.0)\n")
    with pytest.raises(ValueError, match="flag takes true or false, got 'maybe'"):
        reproduce.configure(module, overrides=["flag=maybe"])


@pytest.mark.parametrize("module", sorted({m.__name__ for m in reproduce.FIGURES.values()} |
                                          {"qntk.experiments.figures.seed001._setup"}))
def test_every_figure_module_imports_on_its_own(module):
    """In a fresh interpreter, a figure module loads without the registry (figures never import it)."""
    code = f"import sys, {module} as m; print(getattr(m, 'NAME', '-'), 'qntk.experiments.reproduce' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[1] == "False"


def test_table_rows_and_confidence_interval():
    r = _table.row("q", theory=2.0, simulation=2.5, sem=0.1, note="n")
    assert tuple(r) == _table.ROW_KEYS
    assert r["rel_err"] == pytest.approx(0.25) and r["note"] == "n"
    assert not r["within_ci"]  # 0.5 > 3 x 0.1
    assert _table.row("q", -2.0, -2.0 + 0.99 * _table.Z * 0.1, 0.1)["within_ci"]
    assert not _table.row("q", -2.0, -2.0 - 1.01 * _table.Z * 0.1, 0.1)["within_ci"]
    assert _table.row("q", -2.0, -1.0, 0.1)["rel_err"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-zero theory"):
        _table.row("q", 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="finite"):
        _table.row("q", 1.0, float("nan"), 0.1)


def test_paired_and_std_rows_use_the_sample_standard_errors():
    import numpy as np

    p = _table.paired_row("q", [1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 4.0, 5.0])
    assert (p["theory"], p["simulation"]) == (1.5, 3.0)
    assert p["sem"] == pytest.approx(np.std([0.0, 1.0, 2.0, 3.0], ddof=1) / 2)
    x = np.array([-1.0, 1.0, -3.0, 3.0])
    s = _table.std_row("q", np.full(4, 4.0), x)
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
    assert {name[:3] for name in reproduce.FIGURES} <= set(papers.FULL)  # every seed's paper is named
    assert "Nat. Commun. 15, 9354" in " ".join(text.stdout.split())


@pytest.mark.parametrize("args, start", [
    (["001-fig99"], "qntk: error: unknown figure '001-fig99'"),
    (["000-fig1", "--set", "foo=1"], "qntk: error: unknown field 'foo' for 000-fig1: valid fields are n_qubits"),
    (["000-fig1", "--set", "n_qubits=two"], "qntk: error: --set n_qubits=two for 000-fig1: n_qubits takes an integer"),
    (["000-fig1", "--quick", "--set", "n_qubits=0"], "qntk: error: 000-fig1: n_qubits must be an integer >= 1"),
    (["all", "--set", "n_qubits=3"], "qntk: error: --set changes one figure's settings"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, start, tmp_path):
    """Checked before any figure runs: one line on stderr, exit status 2, nothing written."""
    bad = qntk("reproduce", *args, "--out", str(tmp_path))
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1 and "Traceback" not in bad.stderr, bad.stderr
    assert lines[0].startswith(start), lines[0]
    assert not any(tmp_path.iterdir())


def test_cli_set_and_seed_take_effect_and_are_recorded(tmp_path):
    from typer.testing import CliRunner

    from qntk.cli import app

    args = ["reproduce", "001-fig4", "--quick", "--json", "--out", str(tmp_path), "--seed", "3",
            "--set", "samples=6", "--set", "etas=0.01,0.02", "--set", "qubits=2"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["name"] == "001-fig4" and len(result["rows"]) == 2
    assert set(result["files"]) == {"png", "nc", "md", "json"}
    expected = dataclasses.asdict(reproduce.get("001-fig4").QUICK) | {"samples": 6, "etas": [0.01, 0.02], "seed": 3}
    assert result["config"] == expected
    saved = json.loads((tmp_path / "001-fig4.json").read_text())["config"]
    assert saved["config"] == expected and saved["changed"]["samples"] == 6
    assert "eta = 0.01" in result["rows"][0]["quantity"]
