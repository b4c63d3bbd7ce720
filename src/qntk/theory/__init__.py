"""Analytic predictions: exact Haar ensemble averages (:mod:`qntk.theory.haar`)."""

from . import haar as haar
