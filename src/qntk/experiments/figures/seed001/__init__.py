"""Figures of seed 001 (precision and angle noise of frozen-QNTK training): Figs. 2-4, on the shared
setup of :mod:`._setup`."""
