"""Reproduction of the seeds' figures: the registry of figure modules, their configuration and output.

The registry is every module of :mod:`qntk.experiments.figures` that defines ``NAME``, found when this
module is imported: adding a figure is adding one module there (its contract is in that package's
docstring). :func:`configure` builds a figure's ``Config`` from the paper size or ``QUICK`` and
``FIELD=VALUE`` overrides (``qntk reproduce NAME --set FIELD=VALUE``); :func:`write` writes a result's
plot, data and table.

Example:
    >>> from qntk.experiments import reproduce
    >>> fig1 = reproduce.get("000-fig1")
    >>> cfg = reproduce.configure(fig1, quick=True, overrides=["qubits=3", "layers=4,8,16"])
    >>> cfg.n_qubits, cfg.layers, cfg == fig1.QUICK
    (3, (4, 8, 16), False)
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import pkgutil
import typing
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .._provenance import finite, save_netcdf, versions, write_atomic, write_json
from ..models import SHORT_NAMES
from ..models._spec import parse_bool
from . import figures
from ._table import Z as Z
from ._table import Result, markdown
from ._table import size_note as size_note


def _discover() -> dict[str, ModuleType]:
    """Every module under :mod:`qntk.experiments.figures` that defines ``NAME``, keyed and ordered by it."""
    found = {}
    for info in pkgutil.walk_packages(figures.__path__, figures.__name__ + "."):
        module = importlib.import_module(info.name)
        name = getattr(module, "NAME", None)
        if name is None:
            continue
        if name in found:
            raise RuntimeError(f"two figure modules are named {name!r}: {found[name].__name__} and {info.name}.")
        found[name] = module
    return dict(sorted(found.items()))


#: The registered figures, keyed by ``<seed>-fig<k>`` and ordered by it.
FIGURES: dict[str, ModuleType] = _discover()


def get(name: str) -> ModuleType:
    """The figure module registered as ``name``.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}: choose one of {', '.join(FIGURES)} or 'all' (qntk reproduce --list).")
    return FIGURES[name]


def configure(module: ModuleType, quick: bool = False, overrides: Sequence[str] = ()):
    """The figure's ``Config``: the paper size (``Config()``) or ``QUICK``, with ``FIELD=VALUE`` overrides.

    A value is read by the field's type: an integer, a real, a string, ``true``/``false``, or a
    comma-separated list for a tuple field (``layers=4,8,16``). ``qubits`` and ``layers`` are accepted
    for ``n_qubits`` and ``n_layers`` (the CLI's spelling) where the figure has no field of that name.
    The result is validated by the ``Config`` itself.

    Raises:
        ValueError: in one line, for an override that is not ``FIELD=VALUE``, an unknown field (listing
            the valid ones) or a value of the wrong type or out of range.
    """
    types_ = typing.get_type_hints(module.Config)
    values: dict[str, Any] = {}
    for item in overrides:
        key, eq, text = (part.strip() for part in str(item).partition("="))
        if not eq or not key:
            raise ValueError(f"--set {item!r} is not FIELD=VALUE (e.g. n_qubits=5); fields of {module.NAME}: "
                             f"{', '.join(_fields(module))}.")
        field = field_name(module, key)
        try:
            values[field] = _parse(text, types_[field])
        except ValueError as err:
            raise ValueError(f"--set {key}={text} for {module.NAME}: {field} takes {err}.") from None
    return with_fields(module, module.QUICK if quick else module.Config(), values)


def _fields(module: ModuleType) -> list[str]:
    return [f.name for f in dataclasses.fields(module.Config)]


def field_name(module: ModuleType, key: str) -> str:
    """The field of the figure's ``Config`` that ``key`` names: the field itself, or ``qubits`` and ``layers`` for
    ``n_qubits`` and ``n_layers`` where the figure has no field of that name.

    Raises:
        ValueError: for a key that names no field, listing the valid ones.
    """
    fields = _fields(module)
    field = key if key in fields else SHORT_NAMES.get(key, key)
    if field not in fields:
        raise ValueError(f"unknown field {key!r} for {module.NAME}: valid fields are {', '.join(fields)}.")
    return field


def with_fields(module: ModuleType, base, values: dict[str, Any]):
    """``base``, a ``Config`` of the figure, with the fields named in ``values`` (:func:`field_name`) set to their
    values (TOML or Python values: a list for a tuple field), validated by the ``Config`` itself.

    Example:
        >>> fig1 = get("000-fig1")
        >>> with_fields(fig1, fig1.QUICK, {"qubits": 3, "layers": [4, 8, 16]}).layers
        (4, 8, 16)

    Raises:
        ValueError: in one line, for an unknown field (listing the valid ones), a field named twice (e.g.
            ``qubits`` and ``n_qubits``) or a value the ``Config`` refuses (its message, after the figure's name).
    """
    fields: dict[str, Any] = {}
    for key, value in values.items():
        field = field_name(module, key)
        if field in fields:
            raise ValueError(f"{module.NAME}: {field} is given twice ({key!r} and another spelling): give it once.")
        fields[field] = value
    try:
        return dataclasses.replace(base, **fields)
    except ValueError as err:
        raise ValueError(f"{module.NAME}: {err}") from None


#: How a ``FIELD=VALUE`` string is read for each field type, and what to call the type in an error.
_PARSERS = {int: (int, "an integer"), float: (float, "a number"), str: (str, "a string"), bool: (parse_bool, "true or false")}


def _parse(text: str, kind) -> Any:
    """``text`` as a value of the type ``kind``: int, float, str, bool, or a tuple of one of them.

    Raises:
        ValueError: saying what the field takes (the message completes "FIELD takes ...").
    """
    if typing.get_origin(kind) is tuple:
        parse, what = _PARSERS[typing.get_args(kind)[0]]
        try:
            return tuple(parse(part.strip()) for part in text.split(","))
        except ValueError:
            raise ValueError(f"a comma-separated list, each {what}, got {text!r}") from None
    parse, what = _PARSERS[kind]
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"{what}, got {text!r}") from None


def write(result: Result, out_dir: str | Path) -> dict[str, Path]:
    """Writes ``<name>.png``, ``.nc`` (NetCDF, attrs config/seed/versions), ``.md`` and ``.json`` atomically.

    The PNG is rendered by the Agg canvas of the figure itself, so no global matplotlib backend is
    changed. Returns the paths by kind (``png``, ``nc``, ``md``, ``json``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out_dir = Path(out_dir)
    paths = {kind: out_dir / f"{result.name}.{kind}" for kind in ("png", "nc", "md", "json")}
    fig = get(result.name).plot(result)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    write_atomic(paths["png"], buf.getvalue())
    ds = result.data.copy()
    ds.attrs.update(config=json.dumps(finite(result.config), sort_keys=True), seed=int(result.config["config"]["seed"]),
                    versions=json.dumps(versions(), sort_keys=True), name=result.name)
    save_netcdf(ds, paths["nc"])
    write_atomic(paths["md"], markdown(result))
    write_json(paths["json"], {"name": result.name, "rows": result.rows, "config": result.config, "versions": versions()})
    return paths


def run_all(out_dir: str | Path, quick: bool = False, seed: int | None = None, progress: bool = True,
            names: list[str] | None = None,
            overrides: Sequence[str] = ()) -> list[tuple[Result, dict[str, Path]]]:
    """Runs and writes every registered figure (or ``names``), each written as soon as it is done.

    Each runs at the paper size (or ``QUICK``) with ``overrides`` (:func:`configure`) and, if given,
    ``seed``. All configurations are built before the first run, so a bad override costs no run.
    """
    extra = [*overrides, *([] if seed is None else [f"seed={seed}"])]
    configs = [(get(name), configure(get(name), quick, extra)) for name in names or list(FIGURES)]
    done = []
    for module, config in configs:
        result = module.run(config, progress=progress)
        done.append((result, write(result, out_dir)))
    return done
