"""How far rpa-local (random local W_l, an approximate 2-design) is from the Haar averages: the table of
docs/rpa_local.md.

For each size (n, L) and ensemble (rpa with Haar W_l; rpa-local at several depths), it samples K and eps over
many random circuits and angle vectors (qntk.experiments.kernel_stats) and compares their mean and standard
deviation with the exact Haar averages of qntk.theory (chain model: independent Haar gates between rotations)
and with the rpa ensemble. Every difference is relative, in percent, with its standard error from the
samples: cluster-robust for the means (circuits are the independent units), a bootstrap over circuits for
the standard deviations.

    PYTHONPATH=src python examples/rpa_local_distance.py            # the table of docs/rpa_local.md (~5 min)
    PYTHONPATH=src python examples/rpa_local_distance.py --quick    # fewer circuits, n = 4 only
    PYTHONPATH=src python examples/rpa_local_distance.py --sizes 8x2  # other sizes (n x L)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from qntk.experiments import kernel_stats
from qntk.models import Model
from qntk.theory import predict

OBSERVABLE, TARGET = "xxz:J=2", -6.0
BOOTSTRAP = 200


def sample(model: Model, circuits: int, samples: int, seed: int) -> dict:
    """K and eps, shape ``(circuits, samples)`` each."""
    config = kernel_stats.KernelStatsConfig(model, samples=samples, circuits=circuits, seed=seed)
    out = kernel_stats.run(config, progress=False)
    return {"K": out["K"], "eps": out["eps"]}


def mean_and_std(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """Mean, its cluster-robust standard error, standard deviation and its bootstrap standard error over circuits."""
    mean, std, sem = kernel_stats.mean_std_sem(values)
    picks = rng.integers(0, values.shape[0], size=(BOOTSTRAP, values.shape[0]))
    boot = values[picks].reshape(BOOTSTRAP, -1).std(axis=1, ddof=1)
    return mean, sem, std, float(np.std(boot, ddof=1))


def relative(value: float, se: float, ref: float, ref_se: float = 0.0) -> tuple[float, float]:
    """``value / ref - 1`` in percent and its standard error (independent estimates)."""
    ratio = value / ref
    return 100 * (ratio - 1), 100 * abs(ratio) * np.hypot(se / value, ref_se / ref)


def rows(n: int, layers: int, depths: list[int], circuits: int, samples: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    theory = predict(Model("rpa-local", n, layers, OBSERVABLE, target=TARGET), mu_std=False)
    out, reference = [], None
    for depth in [None, *depths]:
        name = "rpa (Haar W_l)" if depth is None else f"rpa-local depth {depth}"
        model = (Model("rpa", n, layers, OBSERVABLE, target=TARGET) if depth is None else
                 Model("rpa-local", n, layers, OBSERVABLE, target=TARGET, options={"depth": depth}))
        start = time.perf_counter()
        data = sample(model, circuits, samples, seed)
        k = mean_and_std(data["K"], rng)
        eps = mean_and_std(data["eps"], rng)
        row = {"n": n, "L": layers, "ensemble": name, "samples": f"{circuits} x {samples}", "K_mean": k[0],
               "K_mean_sem": k[1], "K_vs_haar": relative(k[0], k[1], theory["K_mean"]),
               "K_std_vs_haar": relative(k[2], k[3], theory["K_std"]),
               "eps_std_vs_haar": relative(eps[2], eps[3], theory["eps_std"]), "time_s": time.perf_counter() - start}
        if reference is None:
            reference = k
        else:
            row["K_vs_rpa"] = relative(k[0], k[1], reference[0], reference[1])
            row["K_std_vs_rpa"] = relative(k[2], k[3], reference[2], reference[3])
        out.append(row)
    return out


def _pm(pair) -> str:
    return "" if pair is None else f"{pair[0]:+.1f} ± {pair[1]:.1f}"


def table(all_rows: list[dict]) -> str:
    head = ("| n | L | ensemble | circuits x samples | mean K (± sem) | mean K vs Haar, % | std K vs Haar, % | "
            "std eps vs Haar, % | mean K vs rpa, % | std K vs rpa, % |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in all_rows:
        lines.append(f"| {r['n']} | {r['L']} | {r['ensemble']} | {r['samples']} | {r['K_mean']:.4g} ± {r['K_mean_sem']:.2g} | "
                     f"{_pm(r['K_vs_haar'])} | {_pm(r['K_std_vs_haar'])} | {_pm(r['eps_std_vs_haar'])} | "
                     f"{_pm(r.get('K_vs_rpa'))} | {_pm(r.get('K_std_vs_rpa'))} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 circuits x 5 samples, n = 4 only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", default=None, help="n x L pairs, e.g. '4x2,6x8' (default: 4x2,4x8,6x2,6x8)")
    args = parser.parse_args()
    circuits, samples = (200, 5) if args.quick else (1000, 10)
    sizes = [(4, 2), (4, 8)] if args.quick else [(4, 2), (4, 8), (6, 2), (6, 8)]
    if args.sizes:
        sizes = [tuple(int(v) for v in pair.split("x")) for pair in args.sizes.split(",")]
    all_rows = []
    for n, layers in sizes:
        all_rows += rows(n, layers, sorted({1, 2, n, 2 * n}), circuits, samples, args.seed)
        print(f"n = {n}, L = {layers} done", flush=True)
    print(f"O = {OBSERVABLE}, O_0 = {TARGET}, s = 1/2, P_l from {{X,Y,Z}}^n, seed {args.seed}")
    print(table(all_rows))


if __name__ == "__main__":
    main()
