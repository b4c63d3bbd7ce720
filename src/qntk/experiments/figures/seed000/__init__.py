"""Figures of seed 000 (Liu, Tacchino, ...: the QNTK and frozen-kernel dynamics): Figs. 1-3."""
