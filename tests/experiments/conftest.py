"""Every registered figure run once at ``QUICK`` size per test run, shared by the tests that need it, in every
worker process of the run (the figure tests and ``test_reproduce`` may land on different workers)."""

import pickle

import pytest

from qntk._provenance import write_atomic
from qntk.experiments import reproduce
from qntk.theory._cache import _computing


@pytest.fixture(scope="session")
def quick_result(tmp_path_factory, worker_id):
    """``quick_result(name)``: the figure's ``Result`` at its ``QUICK`` size (run on first use by any worker)."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # the parent is this run's, shared by its workers
    done = {}

    def get(name):
        if name not in done:
            path = shared / f"quick-{name}.pkl"
            with _computing(path):  # the other worker, needing it at the same time, waits and reads it
                if path.exists():
                    done[name] = pickle.loads(path.read_bytes())
                else:
                    module = reproduce.get(name)
                    done[name] = module.run(module.QUICK, progress=False)
                    write_atomic(path, pickle.dumps(done[name]))
        return done[name]

    return get
