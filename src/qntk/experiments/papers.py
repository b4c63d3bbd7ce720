"""The papers that qntk implements, as a user reads them.

The code cites them by number (``001 eq. (22)``; docs/references.md maps the numbers); what a user
reads (figure titles and legends, table notes) names them by authors, venue and year instead.

Example:
    >>> cite("001", "eq. (22)")
    'Liu, Lin, Jiang, MLST 2024, eq. (22)'
"""

from __future__ import annotations

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
