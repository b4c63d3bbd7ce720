"""The self-contained HTML report of ``qntk diagnose`` (``--html FILE``).

One HTML file with no external resource (no script, no stylesheet or font to fetch; the plots are PNG images
inlined as ``data:`` URIs), so that it opens in any browser without a network: the key numbers with their
meaning, the laziness verdicts, the QNTK spectrum, the predictions against the labels on training and test
points, and with ``--train`` the trained against the predicted outputs over time and the divergence check.

Example:
    >>> from qntk.models import Model
    >>> from qntk.experiments import diagnose
    >>> m = Model("reuploading", 2, 2, "ZI", data="tfim:points=6,h_min=-2,h_max=2")
    >>> page = html(diagnose.run(diagnose.DiagnoseConfig(m, samples=4, trial_samples=2, trial_steps=2, steps=5)))
    >>> page.startswith("<!DOCTYPE html>"), "http" in page.split("<body>")[1]
    (True, False)
"""

from __future__ import annotations

import base64
import io
import json
from html import escape

import numpy as np

from ..theory.diagnostics import LAZINESS_CHECKS
from .diagnose import quantities, shot_noise_rows

CITATION = ("Scala, Zoufal, Gerace, Tacchino, Towards practical QNN diagnostics with neural tangent kernels (2025); "
            "Liu et al., Phys. Rev. Lett. 130, 150601 (2023)")

_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }
td.num { text-align: right; font-family: monospace; }
.no { color: #b00; font-weight: bold; } .yes { color: #070; }
img { max-width: 100%; }
"""


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _num(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _verdict(ok) -> str:
    return '<td>n/a</td>' if ok is None else (f'<td class="{"yes" if ok else "no"}">{"yes" if ok else "no"}</td>')


def figures(r: dict) -> list[tuple[str, str]]:
    """``(caption, data URI)`` of each plot of the report."""
    from matplotlib.figure import Figure

    out = []
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    eig = np.asarray(r["spectrum"], float)
    ax.semilogy(np.arange(1, eig.size + 1), np.where(eig > 0, eig, np.nan), "o-")
    ax.set_xlabel("index i")
    ax.set_ylabel("eigenvalue lambda_i")
    ax.set_title("QNTK spectrum at initialization (mean over initializations)")
    ax.axhline(2.0 / r["eta"], color="gray", ls="--", lw=0.8, label="2 / eta")
    ax.legend()
    out.append(("QNTK spectrum at initialization: lambda_max sets eta_crit = 2 / lambda_max, lambda_min the "
                "training time.", _png(fig)))
    p = r.get("prediction", {})
    if "x_test" in p:
        fig = Figure(figsize=(6, 3.6))
        ax = fig.add_subplot()
        ax.plot(p["x_train"], p["y_train"], "ko", label="label, training points")
        ax.plot(p["x_test"], p["y_test"], "ks", mfc="none", label="label, test points")
        ax.plot(p["x_train"], p["f_train"], "C0x", ms=8, label=f"QNTK prediction, train (step {r['config']['steps']})")
        ax.plot(p["x_test"], p["f_test"], "C1+", ms=10, label="QNTK prediction, test (t -> infinity)")
        t = r.get("training")
        if t and "f_test_trained" in t:
            ax.plot(p["x_test"], t["f_test_trained"], "C2.", label="trained, test (mean)")
        ax.set_xlabel("x")
        ax.set_ylabel("output")
        ax.set_title(f"predicted vs true: R² train {r['r2_train']:.3f}, test {r['r2_test']:.3f}")
        ax.legend(fontsize=7)
        out.append(("Labels and the frozen-QNTK predictions on training and test points.", _png(fig)))
    t = r.get("training")
    if t:
        fig = Figure(figsize=(6, 3.2))
        ax = fig.add_subplot()
        ax.semilogy(t["step"][1:], t["abs_diff_train"][1:], label="training points")  # both start equal at t = 0
        if "abs_diff_test" in t:
            ax.semilogy(t["snapshot_step"][1:], t["abs_diff_test"][1:], "o-", label="test points")
        ax.set_xlabel("step t")
        ax.set_ylabel("mean |trained - predicted|")
        ax.set_title(f"trained vs QNTK-predicted outputs, eta = {t['eta']:.3g}")
        ax.legend()
        out.append(("Mean absolute difference between the trained and the QNTK-predicted outputs over time.", _png(fig)))
    return out


def html(r: dict) -> str:
    """The report of one :func:`qntk.experiments.diagnose.run` result."""
    m = r["config"]["model"]
    rows = quantities(r) + [("n_params", "trainable parameters"), ("n_train", "training points"),
                            ("n_test", "test points")]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>qntk diagnose report</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>qntk diagnose</h1>",
             f"<p>Model: {escape(str(m['ansatz']))}, n = {m['n_qubits']}, L = {m['n_layers']}, observable "
             f"<code>{escape(str(m['observable']))}</code>, {escape(r['task'])} task, {r['config']['samples']} "
             f"initializations. {escape(r['loss_normalization'])}.</p>",
             "<h2>Spectrum, learning rate and predictions</h2><table><tr><th>quantity</th><th>value</th>"
             "<th>meaning</th></tr>"]
    parts += [f'<tr><td>{k}</td><td class="num">{_num(r.get(k))}</td><td>{escape(v)}</td></tr>' for k, v in rows]
    parts.append("</table>")
    lz = r["laziness"]
    parts.append("<h2>Laziness check</h2><table><tr><th>check</th><th>relative change of K</th><th>lazy</th>"
                 "<th>what</th></tr>")
    for key, what in LAZINESS_CHECKS.items():
        parts.append(f'<tr><td>{key}</td><td class="num">{_num(lz[key])}</td>{_verdict(lz[f"{key}_lazy"])}'
                     f"<td>{escape(what)}</td></tr>")
    parts.append(f"</table><p><b>Verdict:</b> {escape(lz['verdict'])} (tolerance {lz['tolerance']:g}).</p>")
    noise = shot_noise_rows(r)
    if noise:
        parts.append("<h2>Shot-noise floor</h2><table>")
        parts += [f'<tr><td>{escape(label)}</td><td class="num">{escape(v) if isinstance(v, str) else _num(v)}</td></tr>'
                  for label, v in noise]
        parts.append(f"</table><p>{escape(r['shot_noise']['model'])}.</p>")
    t = r.get("training")
    if t:
        d = t["divergence"]
        parts.append("<h2>Training</h2><table>")
        for label, value in (("mean |trained - predicted|, training points, end", t["abs_diff_train"][-1]),
                             ("mean |trained - predicted|, test points, end", (t.get("abs_diff_test") or [None])[-1]),
                             ("R² trained, training points", t.get("r2_train_trained")),
                             ("R² trained, test points", t.get("r2_test_trained")),
                             ("top-mode residual left at eta", d["top_mode_at_eta"]),
                             (f"top-mode residual left at eta = {d['eta']:.4g} (above eta_crit)", d["top_mode_above"])):
            parts.append(f'<tr><td>{escape(label)}</td><td class="num">{_num(value)}</td></tr>')
        parts.append(f'<tr><td>training above eta_crit fails, as predicted</td>{_verdict(d["diverges"])}</tr></table>')
    for caption, uri in figures(r):
        parts.append(f'<figure><img alt="{escape(caption)}" src="{uri}"><figcaption>{escape(caption)}</figcaption>'
                     "</figure>")
    parts.append(f"<p>Theory: the frozen-QNTK prediction formula and spectrum diagnostics of {escape(CITATION)}.</p>")
    config = json.dumps({"config": r["config"], "seed": r["seed"], "versions": r["versions"]}, indent=1, default=str)
    parts.append(f"<details><summary>configuration, seed, versions</summary><pre>{escape(config)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
