"""The papers that qntk implements, as a user reads them.

The code cites them by number (``001 eq. (22)``; docs/references.md maps the numbers); what a user
reads (figure titles and legends, table notes) names them by authors, venue and year instead.

Example:
    >>> cite("001", "eq. (22)")
    'Liu, Lin, Jiang, MLST 2024, eq. (22)'
"""

from __future__ import annotations

import re

#: Short form: authors, venue, year (figure titles and legends).
SHORT = {
    "000": "Liu et al., PRL 2023",
    "001": "Liu, Lin, Jiang, MLST 2024",
    "002": "You et al., ICML 2023",
    "003": "Scala et al. 2025",
    "004": "Zhang et al., Nat. Commun. 2024",
}

#: Full citation (the notes under the reproduction tables).
FULL = {
    "000": "Liu, Najafi, Sharma, Tacchino, Jiang, Mezzacapo, Phys. Rev. Lett. 130, 150601 (2023)",
    "001": "Liu, Lin, Jiang, Mach. Learn.: Sci. Technol. 5, 015058 (2024)",
    "002": "You, Chakrabarti, Chen, Wu, Analyzing convergence in quantum neural networks: deviations from neural "
           "tangent kernels, ICML 2023, PMLR 202 (arXiv:2303.14844)",
    "003": "Scala, Zoufal, Gerace, Tacchino, Towards practical QNN diagnostics with neural tangent kernels (2025)",
    "004": "Zhang, Liu, Wu, Jiang, Zhuang, Nat. Commun. 15, 9354 (2024); 004-data: its several-data "
           "extension, npj Quantum Inf. 11, 132 (2025)",
}


def cite(seed: str, where: str) -> str:
    """``where`` (an equation, figure or theorem) in paper ``seed``, named so that a user can find it."""
    return f"{SHORT[seed]}, {where}"


#: Figures that are not one figure of their seed paper.
_NOT_A_FIGURE = {"003-results": "Scala et al. 2025, Results I-III",
                 "004-data": "Zhang et al., npj Quantum Inf. 2025, several data"}


def figure_title(name: str) -> str:
    """``"004-fig7"`` -> ``"004-fig7 (Zhang et al., Nat. Commun. 2024, Fig. 7)"``: the figure and its paper
    (the name alone for a figure of no paper listed here)."""
    if name in _NOT_A_FIGURE:
        return f"{name} ({_NOT_A_FIGURE[name]})"
    seed, _, part = name.partition("-")
    return f"{name} ({cite(seed, 'Fig. ' + part.removeprefix('fig'))})" if seed in SHORT else name


def heading(name: str, title: str) -> str:
    """A figure's heading for its reproduction table: its name and paper, then ``title`` (a figure's
    ``TITLE``) without the leading seed reference that the name already gives ("004 Fig. 7: ")."""
    return f"{figure_title(name)}: {re.sub(r'^00[0-4] [^:]*: ', '', title)}"
