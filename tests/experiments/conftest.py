"""Every registered figure run once at ``QUICK`` size per test run, shared by the tests that need it, in every
worker process of the run (the figure tests and ``test_reproduce`` may land on different workers)."""

import contextlib
import os
import pickle

import pytest

from qntk.experiments import reproduce


@contextlib.contextmanager
def _locked(path):
    """An exclusive POSIX lock on ``path`` (nothing is locked where ``fcntl`` is missing: work may be repeated)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def quick_result(tmp_path_factory, worker_id):
    """``quick_result(name)``: the figure's ``Result`` at its ``QUICK`` size (run on first use by any worker)."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # the parent is this run's, shared by its workers
    done = {}

    def get(name):
        if name not in done:
            path = shared / f"quick-{name}.pkl"
            with _locked(shared / f"quick-{name}.lock"):
                if path.exists():
                    done[name] = pickle.loads(path.read_bytes())
                else:
                    module = reproduce.get(name)
                    done[name] = module.run(module.QUICK, progress=False)
                    partial = path.with_suffix(".partial")
                    partial.write_bytes(pickle.dumps(done[name]))
                    os.replace(partial, path)
        return done[name]

    return get
