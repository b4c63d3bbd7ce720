"""Figures of 003 (Scala, Zoufal, Gerace, Tacchino, *Towards practical QNN diagnostics with neural tangent kernels*,
2025; the slides "QNTK diagnostics"): the diagnostics' claims on the TFIM-magnetization regression."""
