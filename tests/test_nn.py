"""The engine: activations, loss, backpropagation and optimiser steps, checked against
finite differences and closed forms."""

import numpy as np
import pytest
from scipy.special import softmax

from skdnn.nn import ACTIVATIONS, HIDDEN_ACTIVATIONS, Network
from skdnn.nn.activations import PRELU_INIT, get_activation
from skdnn.nn.init import glorot_uniform
from skdnn.nn.losses import loss_and_output_delta, output_loss
from skdnn.nn.optimizers import adam_step, init_adam_state, init_sgd_state, sgd_step

TARGETS = ["binary", "multiclass", "multilabel"]


def _problem(target, n_samples=7, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    if target == "binary":
        Y, out = rng.integers(0, 2, size=(n_samples, 1)).astype(float), "logistic"
    elif target == "multiclass":
        Y, out = np.eye(3)[rng.integers(0, 3, size=n_samples)], "softmax"
    else:
        Y, out = rng.integers(0, 2, size=(n_samples, 3)).astype(float), "logistic"
    return X, Y, out


def _random_network(activation, out, n_features, n_outputs, seed=1, hidden=(5, 6)):
    net = Network([n_features, *hidden, n_outputs], activation, out, negative_slope=0.07)
    rng = np.random.default_rng(seed)
    theta = net.init(rng, glorot_uniform)
    # Move PReLU slopes off their common start so each slope's gradient is tested on its own.
    for slopes in net.unpack(theta).slopes:
        slopes[...] = rng.uniform(-0.3, 0.6, size=slopes.shape)
    return net, theta


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_backprop_gradient_matches_central_differences(activation, target, central_differences):
    X, Y, out = _problem(target)
    net, theta = _random_network(activation, out, X.shape[1], Y.shape[1])
    sample_weight = np.random.default_rng(2).uniform(0.2, 3.0, size=X.shape[0])

    net.alpha = 0.3

    def objective(t):
        return net.loss_and_gradient(t, np.empty_like(t), X, Y.copy(), sample_weight=sample_weight)

    grad = np.empty_like(theta)
    net.loss_and_gradient(theta, grad, X, Y.copy(), sample_weight=sample_weight)
    numeric = central_differences(objective, theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_prelu_slope_gradient_matches_finite_differences_and_is_nonzero(central_differences):
    X, Y, out = _problem("multiclass")
    net, theta = _random_network("prelu", out, X.shape[1], Y.shape[1])
    grad = np.empty_like(theta)
    net.loss_and_gradient(theta, grad, X, Y.copy())
    slope_grads = net.unpack(grad).slopes

    def objective(t):
        return net.loss_and_gradient(t, np.empty_like(t), X, Y.copy())

    numeric = net.unpack(central_differences(objective, theta)).slopes
    assert len(slope_grads) == 2
    for analytic, fd in zip(slope_grads, numeric, strict=True):
        np.testing.assert_allclose(analytic, fd, rtol=1e-5, atol=1e-9)
    assert any(np.abs(g).max() > 1e-4 for g in slope_grads)


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "step"])
def test_activation_derivative_matches_finite_differences(name):
    act = get_activation(name)
    z = np.linspace(-3, 3, 41) + 0.013  # avoid the kink at exactly 0
    param = np.full_like(z, 0.2) if name == "prelu" else 0.05
    f = lambda v: act.forward(v, param, None)  # noqa: E731
    numeric = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
    analytic = act.derivative(z, f(z), param) * np.ones_like(z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_sigmoid_derivative_never_exceeds_a_quarter():
    act = get_activation("logistic")
    z = np.linspace(-20, 20, 4001)
    d = act.derivative(z, act.forward(z, None, None), None)
    assert d.max() <= 0.25
    assert d.max() == pytest.approx(0.25, abs=1e-6)


def test_step_is_heaviside_and_not_trainable():
    act = get_activation("step")
    np.testing.assert_array_equal(act.forward(np.array([-2.0, -1e-9, 0.0, 3.0]), None, None),
                                  [0, 0, 1, 1])
    assert "step" not in HIDDEN_ACTIVATIONS
    assert set(HIDDEN_ACTIVATIONS) >= {"identity", "logistic", "tanh", "relu", "leaky_relu",
                                       "prelu", "elu", "gelu"}


def test_leaky_relu_uses_the_negative_slope_and_relu_has_a_dead_zone():
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    leaky = get_activation("leaky_relu")
    np.testing.assert_allclose(leaky.forward(z, 0.01, None), [-0.02, -0.005, 0.5, 2.0])
    relu = get_activation("relu")
    a = relu.forward(z, None, None)
    np.testing.assert_array_equal(relu.derivative(None, a, None), [0, 0, 1, 1])


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        get_activation("swish")


def test_forward_shapes_follow_the_matrix_products():
    # [n_samples x n_features] . [n_features x n_units] ... -> [n_samples x n_outputs]
    net = Network([3, 4, 5, 2], "relu", "softmax")
    theta = net.init(np.random.default_rng(0), glorot_uniform)
    params = net.unpack(theta)
    assert [W.shape for W in params.coefs] == [(3, 4), (4, 5), (5, 2)]
    assert [b.shape for b in params.intercepts] == [(4,), (5,), (2,)]
    z, trace = net.forward(theta, np.ones((100, 3)))
    assert z.shape == (100, 2)
    assert [a.shape for a in trace.inputs] == [(100, 3), (100, 4), (100, 5)]
    np.testing.assert_allclose(net.outputs(theta, np.ones((100, 3))).sum(axis=1), 1)


def test_unpack_returns_views_of_the_flat_vector():
    net = Network([3, 4, 2], "prelu", "softmax")
    theta = net.init(np.random.default_rng(0), glorot_uniform)
    params = net.unpack(theta)
    np.testing.assert_array_equal(params.slopes[0], PRELU_INIT)
    params.coefs[0][0, 0] = 123.0
    assert theta[0] == 123.0
    assert theta.size == 3 * 4 + 4 * 2 + 4 + 2 + 4


def test_input_gradient_matches_finite_differences(central_differences):
    X, Y, out = _problem("multiclass")
    net, theta = _random_network("tanh", out, X.shape[1], Y.shape[1])

    def loss_at(X_):
        return output_loss(net.forward(theta, X_)[0], Y, out) * X.shape[0]  # sum over rows

    z, trace = net.forward(theta, X)
    _, delta = loss_and_output_delta(z, Y.copy(), out)
    grad, dX = net.backward(theta, trace, delta * X.shape[0], input_gradient=True)
    assert grad is None  # no parameter gradient was asked for
    numeric = central_differences(loss_at, X.copy())
    np.testing.assert_allclose(dX, numeric, rtol=1e-5, atol=1e-8)


def test_softmax_loss_is_the_cross_entropy_and_delta_is_p_minus_y():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3)) * 4
    Y = np.eye(3)[[0, 2, 1, 1, 0]]
    p = softmax(z, axis=1)
    expected = -np.mean(np.log(p[Y == 1]))
    loss, delta = loss_and_output_delta(z.copy(), Y, "softmax")
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(delta, (p - Y) / 5, rtol=1e-12)


def test_loss_from_logits_is_finite_where_probabilities_underflow():
    z = np.array([[1000.0, -1000.0]])
    Y = np.array([[0.0, 1.0]])
    assert output_loss(z, Y, "softmax") == pytest.approx(2000.0)
    assert output_loss(np.array([[-800.0]]), np.array([[1.0]]), "logistic") == pytest.approx(800.0)


def test_sgd_step_matches_closed_form_with_and_without_nesterov():
    g = np.array([1.0, -2.0])
    for nesterov in (False, True):
        theta = np.array([0.5, 0.5])
        state = init_sgd_state(theta, learning_rate=0.1)
        sgd_step(theta, g, state, momentum=0.9, nesterov=nesterov)  # v1 = -0.1 g
        sgd_step(theta, g, state, momentum=0.9, nesterov=nesterov)  # v2 = 0.9 v1 - 0.1 g
        v1, v2 = -0.1 * g, 0.9 * (-0.1 * g) - 0.1 * g
        if nesterov:
            expected = 0.5 + (0.9 * v1 - 0.1 * g) + (0.9 * v2 - 0.1 * g)
        else:
            expected = 0.5 + v1 + v2
        np.testing.assert_allclose(theta, expected, rtol=1e-14)
        np.testing.assert_allclose(state["velocity"], v2, rtol=1e-14)


def test_sgd_without_momentum_is_plain_gradient_descent():
    theta = np.array([1.0, 2.0, 3.0])
    g = np.array([0.5, -1.0, 2.0])
    state = init_sgd_state(theta, learning_rate=0.01)
    sgd_step(theta, g, state, momentum=0.0, nesterov=True)
    np.testing.assert_allclose(theta, [1.0, 2.0, 3.0] - 0.01 * g, rtol=1e-15)


def test_adam_steps_match_closed_form():
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    theta = np.array([1.0, -1.0])
    grads = [np.array([0.3, -0.2]), np.array([-0.1, 0.4])]
    state = init_adam_state(theta)
    m = v = np.zeros(2)
    expected = theta.copy()
    for t, g in enumerate(grads, start=1):
        adam_step(theta, g, state, learning_rate_init=lr, beta_1=b1, beta_2=b2, epsilon=eps)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        expected = expected - lr_t * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(theta, expected, rtol=1e-13)
        # The state holds the moments as decaying sums, m / (1 - beta_1) and v / (1 - beta_2).
        np.testing.assert_allclose(state["grad_sum"], m / (1 - b1), rtol=1e-13)
        np.testing.assert_allclose(state["grad_sq_sum"], v / (1 - b2), rtol=1e-13)
    assert state["t"] == 2


def test_float32_stays_float32_through_loss_gradient_and_adam():
    X, Y, out = _problem("multiclass")
    net = Network([X.shape[1], 5, 3], "gelu", out, dtype=np.float32, alpha=0.1)
    theta = net.init(np.random.default_rng(0), lambda i, o, r: glorot_uniform(
        i, o, r, dtype=np.float32))
    assert theta.dtype == np.float32
    grad = np.empty_like(theta)
    net.loss_and_gradient(theta, grad, X.astype(np.float32), Y.astype(np.float32),
                          sample_weight=np.ones(X.shape[0], dtype=np.float32))
    state = init_adam_state(theta)
    adam_step(theta, grad, state)
    moments = state["grad_sum"], state["grad_sq_sum"]
    assert {a.dtype for a in (theta, grad, *moments)} == {np.dtype(np.float32)}
    assert net.outputs(theta, X.astype(np.float32)).dtype == np.float32


# Blocks of the optimisers and of the L2 term: a vector of two full blocks and part of a third.
_LONG = 2 * 65_536 + 1_001


def test_sgd_steps_on_a_vector_longer_than_a_block_match_closed_form():
    rng = np.random.default_rng(0)
    start, grads = rng.normal(size=_LONG), rng.normal(size=(2, _LONG))
    for nesterov in (False, True):
        theta = start.copy()
        state = init_sgd_state(theta, learning_rate=0.1)
        velocity, expected = np.zeros(_LONG), start.copy()
        for g in grads:
            sgd_step(theta, g, state, momentum=0.9, nesterov=nesterov)
            velocity = 0.9 * velocity - 0.1 * g
            expected += 0.9 * velocity - 0.1 * g if nesterov else velocity
        np.testing.assert_allclose(theta, expected, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(state["velocity"], velocity, rtol=1e-13, atol=1e-15)


def test_adam_steps_on_a_vector_longer_than_a_block_match_closed_form():
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    rng = np.random.default_rng(1)
    theta = rng.normal(size=_LONG)
    expected, m, v = theta.copy(), np.zeros(_LONG), np.zeros(_LONG)
    state = init_adam_state(theta)
    for t, g in enumerate(rng.normal(size=(3, _LONG)), start=1):
        adam_step(theta, g, state, learning_rate_init=lr, beta_1=b1, beta_2=b2, epsilon=eps)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        expected -= lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(theta, expected, rtol=1e-12, atol=1e-15)


def test_l2_penalty_on_weights_longer_than_a_block_matches_closed_form():
    # The penalty alpha / (2 sum w) * ||W||^2 adds to the loss, and alpha / sum(w) * W to the
    # gradient of every weight (not of the biases), across the block boundaries.
    X, Y, out = _problem("multiclass", n_samples=20)
    net = Network([X.shape[1], 400, 330, 3], "tanh", out)
    theta = net.init(np.random.default_rng(0), glorot_uniform)
    assert net.n_weights > _LONG
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, size=20)
    plain_grad, grad = np.empty_like(theta), np.empty_like(theta)
    plain = net.loss_and_gradient(theta, plain_grad, X, Y.copy(), sample_weight=sample_weight)
    net.alpha = 0.3
    loss = net.loss_and_gradient(theta, grad, X, Y.copy(), sample_weight=sample_weight)
    weights = theta[: net.n_weights]
    scale = 0.3 / sample_weight.sum()
    assert loss - plain == pytest.approx(0.5 * scale * np.sum(weights**2), rel=1e-10)
    np.testing.assert_allclose(grad[: net.n_weights] - plain_grad[: net.n_weights],
                               scale * weights, rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(grad[net.n_weights:], plain_grad[net.n_weights:])
