"""Models of qntk: Pauli strings, observables, layered circuits, ansatze, input states and data sets."""

from . import ansatze as ansatze
from . import circuits as circuits
from . import observables as observables
from . import pauli as pauli
from . import states as states
