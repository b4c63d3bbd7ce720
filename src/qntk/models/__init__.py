"""Models of qntk: the :class:`Model` that simulator and theory share, Pauli strings, observables, layered circuits, ansatze, input states and data sets."""

from . import ansatze as ansatze
from . import circuits as circuits
from . import observables as observables
from . import pauli as pauli
from . import states as states
from .model import MODEL_FIELDS as MODEL_FIELDS
from .model import SHORT_NAMES as SHORT_NAMES
from .model import Model as Model
