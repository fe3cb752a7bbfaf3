"""Training, written once for every estimator (it knows scikit-learn; the maths is in
:mod:`skdnn.nn`).

* :mod:`~skdnn._train.loop`: ``fit_loop -> run_epoch -> train_step / evaluate``, over one
  :class:`~skdnn._train.loop.Fit`;
* :mod:`~skdnn._train.state`: the one record of a fit, and a fit that changes nothing when
  it fails;
* :mod:`~skdnn._train.stopping`: the stopping rule, the early-stopping criterion, divergence;
* :mod:`~skdnn._train.split`: the early-stopping split;
* :mod:`~skdnn._train.interrupt`: Ctrl-C;
* :mod:`~skdnn._train.callbacks`: scikit-learn's callbacks;
* :mod:`~skdnn._train.weights`: the fit's generator, sample and class weights, BLAS threads.
"""

from .callbacks import CALLBACK_ATTRIBUTES, CallbackSupportMixin, EpochCallbacks
from .interrupt import DeferredInterrupt, Interrupted, KeptInterrupt, interrupted_message
from .loop import (
    SCORE_ROWS,
    Data,
    Fit,
    Loop,
    logits_in_blocks,
    outputs_in_blocks,
    training_scores,
)
from .split import UnavailableError, holds_out, partial_fit_available, validation_split
from .state import Record, TrainingState, unchanged_on_failure
from .stopping import StoppingRule, diverged, validation_key
from .weights import combined_sample_weight, generator, one_blas_thread

__all__ = [
    "CALLBACK_ATTRIBUTES", "SCORE_ROWS", "CallbackSupportMixin", "Data", "DeferredInterrupt",
    "EpochCallbacks", "Fit", "Interrupted", "KeptInterrupt", "Loop", "Record", "StoppingRule",
    "TrainingState", "UnavailableError", "combined_sample_weight", "diverged", "generator",
    "holds_out",
    "interrupted_message", "logits_in_blocks", "one_blas_thread", "outputs_in_blocks",
    "partial_fit_available", "training_scores", "unchanged_on_failure", "validation_key",
    "validation_split",
]
