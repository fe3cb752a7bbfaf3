"""The one record of a fit (:class:`TrainingState`), and a fit that changes nothing when it
fails."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, fields

import numpy as np

from .callbacks import CALLBACK_ATTRIBUTES
from .interrupt import KeptInterrupt


class Record:
    """Base of the dataclasses that hold what a fit produces besides the weights.

    Each field ``name`` is the fitted attribute ``name_``, or the private attribute
    ``_name`` for the names in ``_PRIVATE`` (what ``partial_fit`` and ``warm_start`` go on
    from). A fit works on a record and the estimator receives its values only at the end
    (:meth:`attributes`), so a fit that fails leaves the estimator as it was; the stopping
    rule reads and updates the record's best epoch and ``no_improvement_count``.
    """

    _PRIVATE: tuple = ()
    _LISTS: tuple = ()  # fields holding lists, copied by :meth:`of`

    @classmethod
    def _attribute(cls, name):
        return f"_{name}" if name in cls._PRIVATE else f"{name}_"

    @classmethod
    def of(cls, estimator):
        """The record held by ``estimator``'s attributes (defaults for missing ones), with
        its lists copied."""
        record = cls(**{f.name: getattr(estimator, cls._attribute(f.name))
                        for f in fields(cls) if hasattr(estimator, cls._attribute(f.name))})
        for name in cls._LISTS:
            value = getattr(record, name)
            setattr(record, name, None if value is None else list(value))
        return record

    def attributes(self):
        """The record as ``{attribute name: value}``."""
        return {self._attribute(f.name): getattr(self, f.name) for f in fields(self)}


@dataclass
class TrainingState(Record):
    """The one record of a network's fit: everything training produces besides the weights.

    Each field ``name`` is the fitted attribute ``name_`` (scikit-learn's MLP's names), except
    the last three, the private ``_name`` that ``partial_fit`` and ``warm_start`` go on from.
    The stopping rule reads and updates the best epoch and ``no_improvement_count`` here, so
    the record is the one place both live; the estimator receives the record's values only
    at the end of a fit (:meth:`Record.attributes`).
    """

    loss_curve: list = field(default_factory=list)
    t: int = 0
    n_iter: int = 0
    loss: float | None = None
    best_loss: float | None = None
    validation_scores: list | None = None
    validation_loss_curve: list | None = None
    best_validation_score: float | None = None
    best_validation_loss: float | None = None
    no_improvement_count: int = 0
    optimizer_state: dict | None = None
    rng_state: dict | None = None

    _PRIVATE = ("no_improvement_count", "optimizer_state", "rng_state")
    _LISTS = ("loss_curve", "validation_scores", "validation_loss_curve")

    def add_epoch(self, loss, n_samples):
        """Count one epoch over ``n_samples`` rows that ended with ``loss``."""
        self.n_iter += 1
        self.t += n_samples
        self.loss = loss
        self.loss_curve.append(loss)

    def watch(self, validation):
        """Set up the fields of this fit's mode: the validation curves and bests with
        ``validation`` (early stopping), else the training loss's best; the other mode's are
        None. A record that already watches the same goes on from its bests."""
        if not validation:
            self.validation_scores = self.validation_loss_curve = None
            self.best_validation_score = self.best_validation_loss = None
            if self.best_loss is None:
                self.best_loss = np.inf
            return
        if self.validation_scores is None:
            self.validation_scores, self.validation_loss_curve = [], []
            self.best_validation_score, self.best_validation_loss = -np.inf, np.inf
        self.best_loss = None


@contextlib.contextmanager
def unchanged_on_failure(estimator):
    """Run a fit that leaves ``estimator`` as it was when it fails.

    The fits build their new fitted state aside and commit it at their end; what validation
    writes before that (scikit-learn's ``validate_data`` sets ``n_features_in_`` and
    ``feature_names_in_``, the classifiers their classes) is put back here when the fit
    raises, so a failed fit changes no attribute (the callbacks' own, which scikit-learn
    tears down after the fit, are left to it). Ctrl-C is the one deliberate exception: a
    fit that committed the weights trained so far raises :class:`KeptInterrupt`, which
    leaves the estimator as the fit left it; a Ctrl-C before anything was trained restores
    it like any failure.
    """
    before = dict(vars(estimator))
    try:
        yield
    except KeptInterrupt:
        raise
    except BaseException:
        callbacks = {name: value for name, value in vars(estimator).items()
                     if name in CALLBACK_ATTRIBUTES}
        vars(estimator).clear()
        vars(estimator).update({name: value for name, value in before.items()
                                if name not in CALLBACK_ATTRIBUTES}, **callbacks)
        raise
