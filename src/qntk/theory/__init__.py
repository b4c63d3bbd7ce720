"""Analytic predictions.

* :func:`predict`, :func:`mean_residual`, :func:`late_time`: the theory of one :class:`~qntk.models.Model`, the object
  the simulator takes, with the names of the simulator's output;
* :mod:`qntk.theory.haar`: exact Haar ensemble averages of the QNTK statistics, on the generic
  Weingarten engine :mod:`qntk.theory.weingarten`;
* :mod:`qntk.theory.lv`: the generalized Lotka-Volterra model of late-time training (004), its
  regimes from the spectrum and from a trajectory;
* :mod:`qntk.theory.restricted_haar`: the late-time restricted Haar ensemble (004 eq. (17), Thm 3),
  exact in ``d`` and ``L``, and a sampler of circuits drawn from it;
* :mod:`qntk.theory.hessian`: the late-time loss Hessian and its gap (004 eqs. (18)-(20), Fig. 4);
* :mod:`qntk.theory.linear_loss`: linear-loss dynamics and the recommended quadratic target (004 eqs. (21)-(25));
* :mod:`qntk.theory.limited_depth`: the reachable minimum ``O_min(L)`` of a limited-depth circuit and the
  regime against its spread (004 Fig. 6);
* :mod:`qntk.theory.several_data`: several data with their own targets: the achievable region
  (Schur-Horn), the seven late-time classes, their prediction and measurement;
* :mod:`qntk.theory.large_d`: the seeds' large-d closed forms of K̄ and Delta K (000 eqs. (9), (12));
* :mod:`qntk.theory.lazy`: frozen-QNTK dynamics, precision, concentration and angle noise (000, 001);
* :mod:`qntk.theory.supervised`: the mean QNTK matrix over a data set and its spectrum (000);
* :mod:`qntk.theory.diagnostics`: 003's diagnostics from a kernel matrix: spectrum, critical learning rate,
  training time, the frozen-QNTK prediction formula, the laziness verdicts.
"""

from . import haar as haar
from . import hessian as hessian
from . import large_d as large_d
from . import lazy as lazy
from . import limited_depth as limited_depth
from . import linear_loss as linear_loss
from . import lv as lv
from . import restricted_haar as restricted_haar
from . import several_data as several_data
from . import diagnostics as diagnostics
from . import supervised as supervised
from . import weingarten as weingarten
from ._predict import late_time as late_time
from ._predict import mean_residual as mean_residual
from ._predict import predict as predict
from ._predict import unavailable as unavailable
