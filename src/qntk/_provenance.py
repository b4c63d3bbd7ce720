"""Provenance of outputs (package versions, atomic writes) and where qntk keeps its caches."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from collections.abc import Iterator
from typing import Any

_PACKAGES = ("qntk", "jax", "jaxlib", "numpy", "scipy")


def cache_root() -> Path:
    """Where qntk keeps what it can recompute (symbolic Haar averages, compiled XLA programs):
    ``$QNTK_CACHE_DIR``, else ``$XDG_CACHE_HOME/qntk``, else ``~/.cache/qntk``."""
    return Path(os.environ.get("QNTK_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qntk")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that determine the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def check_writable(path: str | Path, option: str, directory: bool = False) -> Path:
    """Refuses, before any work, an output path that cannot be written: a file path that is a directory (or a
    directory path that is a file), or one whose nearest existing parent is not a writable directory (missing
    parents are created when the output is written).

    Raises:
        ValueError: naming ``option`` and what to do.
    """
    path = Path(path)
    if directory and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a file: give a directory (it is created if missing).")
    if not directory and path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a directory: give a file name.")
    parent = path if directory else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {str(path)!r} cannot be created: {str(parent)!r} is a file.")
    try:  # a probe file: permissions, read-only and special file systems alike
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as err:
        raise ValueError(f"{option} {str(path)!r} cannot be written: {err.strerror} in {str(parent)!r}.") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; renamed onto ``path`` when the block succeeds and
    removed when it fails, so that ``path`` is never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_atomic(path: str | Path, text: str | bytes) -> Path:
    """Writes ``text`` (or bytes) to ``path`` through a temporary file and a rename: never a half-written file."""
    with atomic_path(path) as tmp:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_netcdf(ds, path: str | Path) -> Path:
    """Writes an ``xarray.Dataset`` to NetCDF atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """A temporary directory next to ``path`` to write into; when the block succeeds it replaces ``path`` (a
    directory or file already there is first renamed aside, then removed), and when it fails it is removed, so
    that ``path`` is never half-written: it is the old content or the new (or, after a crash between the two
    renames, missing, with the old content beside it as ``.<name>.*.old``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    old = tmp.with_suffix(".old")
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 directories; give the usual permissions
        if path.exists() or path.is_symlink():
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, old):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)


def save_zarr(ds, path: str | Path) -> Path:
    """Writes an ``xarray.Dataset`` as a Zarr store (a directory) atomically (:func:`atomic_directory`), replacing
    a store already at ``path``; ``xarray.open_zarr(path)`` reads it back.

    The store is in Zarr format 2 with consolidated metadata: every Zarr reader reads it, and its fixed-width
    strings (e.g. one-line errors) and consolidated metadata are part of that format, whereas zarr 3 warns
    that format 3 does not specify either yet. Attributes are stored as JSON (numbers and strings round-trip).

    Raises:
        ValueError: if zarr is not installed (``pip install 'qntk[zarr]'``).
    """
    require_zarr()
    with atomic_directory(path) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
    return Path(path)


def require_zarr(what: str = "writing a Zarr store") -> None:
    """Refuses, in one line starting with ``what``, to write Zarr without the optional zarr package.

    Raises:
        ValueError: if zarr is not installed.
    """
    if importlib.util.find_spec("zarr") is None:
        raise ValueError(f"{what} needs zarr: pip install 'qntk[zarr]'")


def use_compilation_cache() -> None:
    """Keeps compiled XLA programs between runs and processes (JAX's persistent compilation cache, in
    ``<cache root>/xla``), so that a command run again, or a sweep's next worker, does not compile again. JAX
    keys the entries by program, versions and backend; an unwritable cache only costs time."""
    import jax

    try:
        path = cache_root() / "xla"
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (a diverging ``zeta_inf``, an undefined ratio) as ``None``, so
    that it is written as standard JSON (no ``NaN`` or ``Infinity``)."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: str | Path, obj: Any) -> Path:
    """Writes ``obj`` (non-finite numbers as ``null``, :func:`finite`) as indented JSON, atomically."""
    return write_atomic(path, json.dumps(finite(obj), indent=2, sort_keys=True) + "\n")
