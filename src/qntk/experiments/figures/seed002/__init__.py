"""Figures of seed 002 (deviations of QNN training from the NTK: unitarity, sublinear convergence and the
asymptotic dynamics): Figs. 1-6, on the shared setup of :mod:`._setup`."""
