"""Every registered figure run once at ``QUICK`` size per session, shared by the tests that need it."""

import pytest

from qntk.experiments import reproduce


@pytest.fixture(scope="session")
def quick_result():
    """``quick_result(name)``: the figure's ``Result`` at its ``QUICK`` size (run on first use)."""
    done = {}

    def get(name):
        if name not in done:
            module = reproduce.get(name)
            done[name] = module.run(module.QUICK, progress=False)
        return done[name]

    return get
