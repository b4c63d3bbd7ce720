"""On-disk cache of symbolic Haar averages (seconds to minutes each to derive, reused between runs).

Files live in ``<root>/haar/<key>/<name>.pkl``: ``<root>`` is :func:`qntk._provenance.cache_root`;
``<key>`` is a hash of the source of the modules
whose code determines the stored results (:data:`SOURCES`), so that a code change never reads stale
results. Writes are atomic; processes that need the same entry at once compute it once (a file lock);
a read-only, missing or corrupt cache only costs time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .._provenance import cache_root, write_atomic

T = TypeVar("T")

SOURCES = ("weingarten.py", "haar.py")
"""The modules of :mod:`qntk.theory` whose source keys the cache directory."""


@functools.lru_cache(maxsize=None)
def _source_key() -> str | None:
    """Hash of :data:`SOURCES` (``None`` when a source cannot be read: nothing is cached then)."""
    digest = hashlib.sha1()
    try:
        for name in SOURCES:
            digest.update(name.encode() + b"\0" + (Path(__file__).parent / name).read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()[:16]


def cache_dir() -> Path | None:
    """The cache directory for the current code, or ``None`` when the sources cannot be read."""
    key = _source_key()
    if key is None:
        return None
    return cache_root() / "haar" / key


def cached(name: str, compute: Callable[[], T]) -> T:
    """The value stored as ``<cache dir>/<name>.pkl``, or ``compute()``, stored there atomically.

    Args:
        name: file name without extension; it must identify everything the value depends on besides
            the code (e.g. ``"mu_sq-0101-d8"``).
        compute: computes the value (picklable) when it is not stored yet.

    Raises:
        ValueError: if ``name`` is not a plain file name.
    """
    if not name or name.startswith(".") or "/" in name or os.sep in name:
        raise ValueError(f"cache entry name {name!r} must be a plain file name (no '/', not starting with '.').")
    folder = cache_dir()
    if folder is None:
        return compute()
    path = folder / f"{name}.pkl"
    stored = _read(path)
    if stored is not None:
        return stored[0]
    with _computing(path):  # another process may have stored it while this one waited
        stored = _read(path)
        if stored is not None:
            return stored[0]
        value = compute()
        try:
            write_atomic(path, pickle.dumps(value))
        except OSError:
            pass  # a read-only or missing cache only costs time
    return value


def _read(path: Path) -> tuple | None:
    """``(value,)`` stored at ``path``, or ``None``."""
    try:
        return (pickle.loads(path.read_bytes()),)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


@contextlib.contextmanager
def _computing(path: Path):
    """Holds an exclusive lock on ``<path>.lock`` (POSIX ``flock``): processes that need the same entry at the
    same time (the workers of a test run, parallel jobs) compute it once; elsewhere, or where the lock file
    cannot be made, nothing is locked."""
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a")
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
