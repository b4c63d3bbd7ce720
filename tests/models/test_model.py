"""The Model that simulator and theory share: validated when built, by the same checks everywhere,
without drawing a circuit or compiling anything."""

import jax
import numpy as np
import pytest

from qntk import train
from qntk.experiments import kernel_stats
from qntk.models import Model, ansatze, circuits
from qntk.theory import haar


def _compilations(fn):
    """The XLA compilations that ``fn()`` triggers (JAX's monitoring event, one per compilation)."""
    seen = []

    def listener(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(kw.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return seen


def test_validation_compiles_nothing():
    """Building a model and the configurations of a run checks every argument and compiles nothing
    (a circuit is drawn, and its Haar gates compiled, only when a run needs it)."""
    def build():
        for n in (2, 3, 5):  # new shapes, so that nothing compiled earlier in the session is reused
            model = Model("rpa", n, 7 + n, "xxz:J=1.5", target=-1.0, options={"paulis": "full"})
            kernel_stats.KernelStatsConfig(model, samples=10, circuits=3)
            train.TrainConfig(model, eta=1e-3, steps=5, samples=2, circuits=2)
        Model("reuploading", 2, 3, "ZI", data="tfim:points=5")
        Model("hva", 3, 2, "tfim:h=1", scale=0.25)

    assert _compilations(build) == []
    probe = _compilations(lambda: Model("rpa", 2, 13).circuit(seed=1))
    assert "jit(haar_unitaries)" in probe  # the counter sees compilations: drawing a circuit does compile


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(ansatz="foo"), "unknown ansatz"),
        (dict(n_qubits=0), "n_qubits"),
        (dict(n_qubits=30), "use <= 24"),
        (dict(ansatz="hva", n_qubits=1, observable="Z"), "n_qubits >= 2"),
        (dict(n_layers=0), "n_layers"),
        (dict(observable="xxz:K=2"), "unknown parameter"),
        (dict(observable="XX"), "acts on 2 qubits"),
        (dict(target=float("inf")), "target"),
        (dict(scale=0.0), "scale must be a finite non-zero"),
        (dict(options={"paulis": "abc"}), "paulis"),
        (dict(options={"colour": 1}), "unknown option 'colour'"),
        (dict(options={"scale": 1.0}), "set scale itself"),
        (dict(data="moons"), "unknown data set"),
        (dict(data="orthogonal:m=32"), "exceeds"),
        (dict(data="tfim:points=4"), "encoding ansatz"),
        (dict(data=3), "data must be"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Model(**kwargs)


@pytest.mark.parametrize("bad", [0, 0.0, float("nan"), float("inf"), True])
def test_one_scale_rule_for_circuits_models_and_theory(bad):
    """Scale 0 used to be rejected by the circuits and accepted by the theory; now every place agrees."""
    o = np.diag([1.0, -1.0])
    for build in (lambda: circuits.from_paulis(["X"], scale=bad), lambda: ansatze.rpa(1, 2, scale=bad),
                  lambda: Model("rpa", 1, 2, "Z", scale=bad), lambda: haar.mean_K(o, None, 2, bad)):
        with pytest.raises(ValueError, match="scale"):
            build()


def test_scale_and_fields():
    assert Model().generator_scale == 0.5 and Model("periodic", 2, 3, "ZI").generator_scale == 1.0
    assert Model(scale=-1.0).circuit().scale == -1.0
    m = Model("rpa", 2, 5, "ZI", target=0.5, options={"paulis": "full"})
    assert m.to_dict() == {"ansatz": "rpa", "n_qubits": 2, "n_layers": 5, "observable": "ZI", "target": 0.5,
                           "scale": None, "options": {"paulis": "full"}, "data": None}
    assert m.is_random and not Model("hea", 2, 1, "ZI").is_random
    assert m.circuit(seed=3).n_params == 5 and m.operator.n_qubits == 2
