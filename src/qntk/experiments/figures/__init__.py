"""The seeds' figures, one package per seed (``seed000``, ``seed001``, ...), one module per figure.

A figure module is found by :mod:`qntk.experiments.reproduce` because it defines ``NAME``
(``"<seed>-fig<k>"``); adding a figure is adding one module here. Each one exposes:

* ``NAME``, ``TITLE``;
* ``Config``: a frozen dataclass of the figure's settings, validated when built (one ``ValueError``
  naming the field, :func:`._checks.validate`), whose defaults are the seed's (paper) size, with a
  ``seed`` field; a field that several figures share (``n_qubits``, ``n_layers``, ``eta``, ...) has the
  one meaning and check of :data:`._checks.SHARED`, and the ``Config`` docstring lists only the others;
* ``QUICK``: a ``Config`` of tiny size (seconds, for tests);
* ``run(config: Config, progress: bool = True) -> Result``: simulates and compares with the seed's
  formulas (:mod:`qntk.theory`), in table rows of :mod:`qntk.experiments._table`; ``Result.config``
  records the configuration and the model (:func:`qntk.experiments._table.record`);
* ``plot(result) -> matplotlib.figure.Figure``, on the shared figure, error bars and labels of :mod:`._plot`.

Figure modules compose the theory of :mod:`qntk.theory` with the simulators; they do not import the
registry.
"""
