r"""Fine-tuning helpers: the linear probe that trains a new output layer before the
pretrained layers move, and the check that a pretrained network's architecture is not
contradicted by explicit parameters.

Notes
-----
A pretrained network gets a new, randomly initialised output layer for its new task. Trained
together with the pretrained layers from that random start, the first gradient steps are
driven by a head that is still wrong, and they distort the pretrained features before the
head has learned to read them (Kumar et al., ICLR 2022, "Fine-Tuning can Distort Pretrained
Features and Underperform Out-of-Distribution"). *Linear probing, then fine-tuning* avoids
that: with every hidden layer frozen, the hidden activations ``h(x)`` are fixed features and
the output layer is a (multinomial or binary) logistic regression on them (for a
regressor, a linear or Poisson regression: the same objective with its own output layer),

.. math::

    \min_{W, b} \; \frac{\sum_i w_i \, \ell(y_i, \sigma(h(x_i) W + b))}{\sum_i w_i}
    + \frac{\alpha}{2 \sum_i w_i} \lVert W \rVert_F^2,

a convex problem that L-BFGS solves to convergence. Fine-tuning then starts from a head that
already fits the pretrained features.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

# The probe's L2 penalty, in the estimator's units (``alpha / (2 sum w) ||W||^2``:
# scikit-learn's LogisticRegression with C=0.01). Chosen by measurement on the digits transfer
# tasks of examples/plot_fine_tuning.py, over alpha = 1e-4 (the estimator's default), 1, 3,
# 10, 30 and 100. A weak penalty fits a few samples with a confident head whose small
# gradients barely move the pretrained layers: the loss soon stops falling by ``tol``, the fit
# stops, and a distant task is left with features made for another (alpha=1: 1 to 2 points
# worse than from scratch on the distant task, 4 to 10 on the unrelated one). A strong one
# keeps the head's direction but not its confidence, and leaves the rest to fine-tuning:
# alpha=100 was the best in total and in the worst case, and gave up about 1 point of
# alpha=10's gain on the related tasks.
PROBE_ALPHA = 100.0
# The probe runs L-BFGS "to convergence": up to this many iterations (a logistic regression
# on a few dozen features converges in tens).
PROBE_MAX_ITER = 1000


def linear_probe(network, theta, features, Y, *, sample_weight=None, alpha=PROBE_ALPHA,
                 tol=1e-6):
    r"""Fit a network without hidden layers (an output layer alone) by L-BFGS.

    Parameters
    ----------
    network : skdnn.nn.network.Network
        The output layer as a network: ``layer_units == [n_features, n_outputs]``.
    theta : ndarray of shape (network.size,)
        Its starting parameters (not modified).
    features : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The frozen features: the last hidden layer's activations on the training samples.
    Y : ndarray of shape (n_samples, n_outputs)
        One-hot or indicator targets, or a regressor's targets.
    sample_weight : ndarray of shape (n_samples,) or None
    alpha : float, default=PROBE_ALPHA
        L2 penalty, in the units of the estimator's ``alpha``.
    tol : float
        Gradient tolerance of L-BFGS (``gtol``).

    Returns
    -------
    ndarray of shape (network.size,)
        The fitted parameters, in ``network.dtype``.

    Notes
    -----
    The objective is the estimator's own (:meth:`Network.loss_and_gradient`); with no hidden
    layer it is convex in ``theta``, so L-BFGS reaches its minimum.
    """
    grad = np.empty(network.size, dtype=network.dtype)

    def objective(x):
        loss = network.loss_and_gradient(x.astype(network.dtype, copy=False), grad, features, Y,
                                         sample_weight=sample_weight, alpha=alpha)
        return loss, grad.astype(np.float64)

    result = scipy.optimize.minimize(
        objective, theta.astype(np.float64), method="L-BFGS-B", jac=True,
        options={"maxiter": PROBE_MAX_ITER, "maxfun": 2 * PROBE_MAX_ITER, "gtol": tol,
                 "ftol": 1e-12},
    )
    return result.x.astype(network.dtype)


def _as_sizes(value):
    """``hidden_layer_sizes`` (an int or a sequence) as a tuple of ints."""
    return tuple(int(units) for units in np.ravel(value))


def check_architecture(estimator, hidden_sizes, spec):
    """Raise a ValueError when explicit parameters contradict the pretrained architecture.

    With ``pretrained``, the network's hidden layers come from the pretrained one. A
    ``hidden_layer_sizes`` or ``activation`` (or, for ``"leaky_relu"``, a ``negative_slope``)
    set to something other than its default *and* other than the pretrained value asks for a
    network that this fit will not build, which must not pass without a word.

    Parameters
    ----------
    estimator : MLPClassifierFromScratch
    hidden_sizes : list of int
        The pretrained network's hidden layer sizes.
    spec : dict
        The pretrained network's ``{"activation": ..., "negative_slope": ...}``.
    """
    defaults = type(estimator)().get_params()
    theirs = {"hidden_layer_sizes": tuple(hidden_sizes), "activation": spec["activation"]}
    if spec["activation"] == "leaky_relu":
        theirs["negative_slope"] = spec["negative_slope"]
    normal = {"hidden_layer_sizes": _as_sizes}
    conflicts = []
    for name, pretrained_value in theirs.items():
        as_given = normal.get(name, lambda value: value)
        ours = as_given(getattr(estimator, name))
        if ours not in (as_given(defaults[name]), pretrained_value):
            conflicts.append(f"{name}={ours!r} (the pretrained network has {pretrained_value!r})")
    if conflicts:
        raise ValueError(
            "The architecture comes from the pretrained network, and these parameters conflict "
            f"with it: {'; '.join(conflicts)}. Leave them at their defaults, or set them to the "
            "pretrained network's values."
        )
