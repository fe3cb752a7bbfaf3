r"""Fine-tuning, all of it: taking a pretrained network's hidden layers
(:class:`FineTuningMixin`, :func:`copy_hidden_layers`), freezing the first ones as a fixed
feature map (:func:`split`), the linear probe that trains a new output layer before the
pretrained layers move (:func:`probe`, :func:`linear_probe`), and the check that a pretrained
network's architecture is not contradicted by explicit parameters.

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
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from .nn.activations import activation_param
from .nn.network import Network, Params

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
# on a few dozen features converges in tens), to this gradient tolerance (``gtol``).
PROBE_MAX_ITER = 1000
PROBE_TOL = 1e-6


def linear_probe(network, theta, data, alpha=PROBE_ALPHA):
    r"""Fit a network without hidden layers (an output layer alone) by L-BFGS.

    Parameters
    ----------
    network : skdnn.nn.network.Network
        The output layer as a network: ``layer_units == [n_features, n_outputs]``.
    theta : ndarray of shape (network.size,)
        Its starting parameters (not modified).
    data : skdnn._train.Data
        The training data: ``X`` the frozen features (the last hidden layer's activations
        on the training samples, of shape (n_samples, n_features)), ``Y`` the one-hot or
        indicator targets or a regressor's targets (n_samples, n_outputs), and
        ``sample_weight`` (n_samples,) or None.
    alpha : float, default=PROBE_ALPHA
        L2 penalty, in the units of the estimator's ``alpha``.

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
    network = Network(network.layer_units, network.hidden.name, network.out_activation,
                      negative_slope=network.negative_slope, dtype=network.dtype, alpha=alpha)

    def objective(x):
        loss = network.loss_and_gradient(x.astype(network.dtype, copy=False), grad, data.X,
                                         data.Y, sample_weight=data.sample_weight)
        return loss, grad.astype(np.float64)

    result = scipy.optimize.minimize(
        objective, theta.astype(np.float64), method="L-BFGS-B", jac=True,
        options={"maxiter": PROBE_MAX_ITER, "maxfun": 2 * PROBE_MAX_ITER, "gtol": PROBE_TOL,
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


class FineTuningMixin:
    """What :class:`~skdnn._mlp_base.BaseMLPFromScratch` does with ``pretrained`` and
    ``n_frozen_layers``."""

    def _pretrained_model(self):
        """The fitted network inside ``pretrained`` (unwrapping a FrozenEstimator), or None."""
        model = self.pretrained
        if isinstance(model, FrozenEstimator):
            model = model.estimator
        if model is None:
            return None
        if isinstance(model, Pipeline) and isinstance(model[-1], FineTuningMixin):
            # Taking the network and dropping its preprocessing would feed it features on
            # another scale than it learned from: say how to keep both.
            raise TypeError(
                "pretrained is a Pipeline; pass its last step, the network, and put the "
                "pipeline's fitted preprocessing in front of this estimator, unchanged: "
                "make_pipeline(FrozenEstimator(pipeline[:-1]), "
                f"{type(self).__name__}(pretrained=FrozenEstimator(pipeline[-1]))). "
                "FrozenEstimator keeps the pretrained scaler's statistics instead of refitting "
                "them on the new data (see docs/fine_tuning.md)."
            )
        if not isinstance(model, FineTuningMixin):
            raise TypeError(
                "pretrained must be a fitted MLPClassifierFromScratch or "
                "MLPRegressorFromScratch (or a FrozenEstimator of one); got "
                f"{type(model).__name__}."
            )
        if not model.__sklearn_is_fitted__():
            raise ValueError(
                f"pretrained is an unfitted {type(model).__name__}. If this estimator was "
                "cloned (GridSearchCV, cross_val_score and clone do that), the fitted network "
                "was dropped: pass pretrained=sklearn.frozen.FrozenEstimator(model) to keep "
                "it through cloning."
            )
        return model

    def _pretrained_architecture(self, base, X):
        """``(hidden layer sizes, {"activation", "negative_slope"})`` of ``base``, checked
        against ``X`` and this estimator's explicit parameters."""
        if X.shape[1] != base.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but the pretrained network takes "
                f"{base.n_features_in_}: fine-tuning needs the same input features."
            )
        sizes, spec = [W.shape[1] for W in base.coefs_[:-1]], dict(base._hidden_spec)
        check_architecture(self, sizes, spec)
        return sizes, spec

    def _n_frozen(self, network):
        n_hidden = network.n_weight_layers - 1
        if self.n_frozen_layers > n_hidden:
            raise ValueError(
                f"n_frozen_layers={self.n_frozen_layers} is more than the {n_hidden} hidden "
                "layer(s) of the network; the output layer always trains."
            )
        return self.n_frozen_layers


def copy_hidden_layers(network, theta, source):
    """Write the hidden layers of ``source`` (:class:`~skdnn.nn.network.Params` of a network
    with the same hidden layers) into ``theta``, ``network``'s flat parameters: weights,
    biases and slopes of every layer but the output layer, which keeps its values."""
    target = network.unpack(theta)
    pairs = zip(source.coefs[:-1] + source.intercepts[:-1] + list(source.slopes),
                target.coefs[:-1] + target.intercepts[:-1] + target.slopes, strict=True)
    for src, dst in pairs:
        dst[...] = src


def split(network, theta, X, n_frozen):
    """Split off the first ``n_frozen`` weight layers of ``network`` as a fixed feature map.

    Returns ``(top, top_theta, features, merge)``: the network of the layers above the
    frozen ones, their parameters (a new vector), their input (the frozen layers' output on
    ``X``: the hidden activation of layer ``n_frozen``), and ``merge(top_theta)``, which
    writes trained top parameters into a copy of ``theta``, the frozen part untouched bit for
    bit. ``n_frozen`` is at least 1: a fit with no frozen layer trains ``network`` itself.
    """
    units, params = network.layer_units, network.unpack(theta)
    options = dict(negative_slope=network.negative_slope, dtype=network.dtype,
                   alpha=network.alpha, dropout=network.dropout)
    hidden = network.hidden
    front = Network(units[: n_frozen + 1], hidden.name, network.out_activation, **options)
    front_params = Params(params.coefs[:n_frozen], params.intercepts[:n_frozen],
                          params.slopes[: n_frozen - 1])
    z = front._logits(front_params, X)  # the last frozen layer's pre-activation
    slopes = params.slopes[n_frozen - 1] if network.has_slopes else None
    param = activation_param(hidden.name, negative_slope=network.negative_slope, slopes=slopes)
    features = hidden.forward(z, param, z)
    top = Network(units[n_frozen:], hidden.name, network.out_activation, **options)
    top_theta = top.pack(params.coefs[n_frozen:], params.intercepts[n_frozen:],
                         params.slopes[n_frozen:])

    def merge(trained):
        full = theta.copy()
        full_params, trained_params = network.unpack(full), top.unpack(trained)
        for part in range(3):
            for dst, src in zip(full_params[part][n_frozen:], trained_params[part],
                                strict=True):
                dst[...] = src
        return full

    return top, top_theta, features, merge


def probe(network, theta, data):
    """Fit the new output layer alone on the pretrained features of ``data`` (``X``, ``Y``,
    ``sample_weight``) by :func:`linear_probe`; the hidden layers are kept bit for bit."""
    head, head_theta, features, merge = split(network, theta, data.X,
                                              network.n_weight_layers - 1)
    return merge(linear_probe(head, head_theta, data._replace(X=features)))
