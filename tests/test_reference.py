"""The fast engine against the textbook (:mod:`skdnn.nn.reference`), equation by equation.

These tests are the fast path's specification: forward pass, outputs, loss, every gradient
(PReLU slopes and dropout masks included), the input gradient, Adam and SGD steps, and the
perceptron's online epoch and mini-batch step, for every hidden activation, every output layer,
and both float types. The fast engine runs in the given dtype; the reference runs on the same
numbers in the same dtype.
"""

import numpy as np
import pytest

from skdnn.nn import HIDDEN_ACTIVATIONS, Network, Trace, reference
from skdnn.nn.init import glorot_uniform
from skdnn.nn.losses import OUTPUT_ACTIVATIONS, loss_and_output_delta, output_values
from skdnn.nn.optimizers import adam_step, init_adam_state, init_sgd_state, sgd_step
from skdnn.nn.perceptron import Pocket, Weights, minibatch_epoch, online_epoch

DTYPES = [np.float32, np.float64]
#: How close the fast path must be: float32 products sum in another order than NumPy's.
RTOL = {np.float32: 2e-4, np.float64: 1e-10}


def _close(fast, ref, dtype, what):
    ref = np.asarray(ref, dtype=np.float64)
    scale = max(float(np.abs(ref).max(initial=0.0)), 1e-3)
    np.testing.assert_allclose(np.asarray(fast, dtype=np.float64), ref, rtol=RTOL[dtype],
                               atol=RTOL[dtype] * scale, err_msg=what)


def _targets(out, n, k, rng, dtype):
    if out == "softmax":
        return np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    if out == "logistic":
        return rng.integers(0, 2, (n, k)).astype(dtype)
    if out == "exp":
        return rng.poisson(2.0, (n, k)).astype(dtype)
    return rng.normal(size=(n, k)).astype(dtype)


def _problem(activation, out, dtype, n=9, hidden=(6, 5), k=3, seed=0):
    """A network, its flat parameters (PReLU slopes moved off their common start), and data."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(dtype)
    Y = _targets(out, n, k, rng, dtype)
    net = Network([4, *hidden, k], activation, out, negative_slope=0.07, dtype=dtype)
    theta = net.init(rng, lambda i, o, r: glorot_uniform(i, o, r, dtype=dtype))
    theta *= 2  # larger weights reach the nonlinear parts of every activation
    for slopes in net.unpack(theta).slopes:
        slopes[...] = rng.uniform(-0.3, 0.6, size=slopes.shape)
    sample_weight = rng.uniform(0.2, 3.0, n).astype(dtype)
    return net, theta, X, Y, sample_weight


def _reference_args(net, theta):
    params = net.unpack(theta)
    return params.coefs, params.intercepts, params.slopes


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_forward_pass_and_outputs_match_the_reference(activation, out, dtype):
    net, theta, X, _, _ = _problem(activation, out, dtype)
    Ws, bs, slopes = _reference_args(net, theta)
    ref = reference.forward(Ws, bs, X, activation, slopes, negative_slope=0.07)
    fast, _ = net.forward(theta, X)
    assert fast.dtype == dtype
    _close(fast, ref.z[-1], dtype, "logits")
    _close(output_values(fast, out), reference.OUTPUTS[out](ref.z[-1]), dtype, "outputs")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", OUTPUT_ACTIVATIONS)
def test_loss_and_output_delta_match_the_reference(out, dtype):
    rng = np.random.default_rng(3)
    z = rng.normal(size=(11, 3)).astype(dtype) * 3
    Y, w = _targets(out, 11, 3, rng, dtype), rng.uniform(0.2, 3.0, 11).astype(dtype)
    for sample_weight in (None, w):
        loss, delta = loss_and_output_delta(z.copy(), Y, out, sample_weight)
        assert loss == pytest.approx(reference.loss(z, Y, out, sample_weight), rel=RTOL[dtype])
        # The delta of the reference's backward pass through a network of one layer, X = I:
        # dL/dW = I^T delta is the delta itself.
        eye, zero = np.eye(11, dtype=dtype), np.zeros(3, dtype=dtype)
        ref = reference.backward([z], reference.forward([z], [zero], eye, "identity"), Y,
                                 "identity", out, sample_weight)
        _close(delta, ref.dWs[0], dtype, "delta")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_objective_and_every_gradient_match_the_reference(activation, out, dtype, dropout):
    net, theta, X, Y, sample_weight = _problem(activation, out, dtype)
    Ws, bs, slopes = _reference_args(net, theta)
    grad = np.full_like(theta, np.nan)
    net.alpha, net.dropout = 0.3, dropout
    fast_loss = net.loss_and_gradient(theta, grad, X, Y, sample_weight=sample_weight,
                                      rng=np.random.default_rng(7))
    # The same generator draws the same dropout masks in the same order.
    trace = reference.forward(Ws, bs, X, activation, slopes, negative_slope=0.07,
                              dropout=dropout, rng=np.random.default_rng(7))
    assert len(trace.masks) == (len(Ws) - 1 if dropout else 0)
    # The engine reports scikit-learn's loss (for k squared-error outputs, 1/k of the
    # objective's data term) and steps along the objective's gradient.
    ref_loss = (reference.loss(trace.z[-1], Y, out, sample_weight)
                + reference.penalty(Ws, Y, 0.3, sample_weight))
    assert fast_loss == pytest.approx(ref_loss, rel=RTOL[dtype])
    ref = reference.backward(Ws, trace, Y, activation, out, sample_weight, alpha=0.3)
    fast = net.unpack(grad)
    assert grad.dtype == dtype
    for layer, (dW, db) in enumerate(zip(ref.dWs, ref.dbs, strict=True)):
        _close(fast.coefs[layer], dW, dtype, f"dL/dW_{layer}")
        _close(fast.intercepts[layer], db, dtype, f"dL/db_{layer}")
    assert len(fast.slopes) == len(ref.dslopes) == (2 if activation == "prelu" else 0)
    for layer, ds in enumerate(ref.dslopes):
        _close(fast.slopes[layer], ds, dtype, f"dL/ds_{layer}")


@pytest.mark.parametrize("out", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_the_reference_backward_pass_is_the_gradient_of_its_objective(activation, out,
                                                                    central_differences):
    """What a learner checks first: central finite differences of ``objective`` in every
    weight, bias, PReLU slope and input, with sample weights, the penalty and dropout."""
    net, theta, X, Y, sample_weight = _problem(activation, out, np.float64, k=3)
    Ws, bs, slopes = _reference_args(net, theta)
    params = [*Ws, *bs, *slopes, X]

    def objective():
        trace = reference.forward(Ws, bs, X, activation, slopes, negative_slope=0.07,
                                  dropout=0.3, rng=np.random.default_rng(7))
        return reference.objective(Ws, trace.z[-1], Y, out, sample_weight, alpha=0.3)

    trace = reference.forward(Ws, bs, X, activation, slopes, negative_slope=0.07, dropout=0.3,
                              rng=np.random.default_rng(7))
    grads = reference.backward(Ws, trace, Y, activation, out, sample_weight, alpha=0.3)
    analytic = [*grads.dWs, *grads.dbs, *grads.dslopes, grads.dX]
    assert len(analytic) == len(params)
    for param, grad in zip(params, analytic, strict=True):
        numeric = central_differences(lambda _: objective(), param)
        # exp outputs reach large objectives, whose differences lose digits: a scaled atol
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7 * np.abs(numeric).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_input_gradient_matches_the_reference_and_leaves_the_trace_alone(activation, out,
                                                                          dtype):
    net, theta, X, Y, _ = _problem(activation, out, dtype)
    Ws, bs, slopes = _reference_args(net, theta)
    # The training path: every matrix in the workspace's arrays.
    params, trace = net.unpack(theta), Trace([], [], [], [])
    z = net._logits(params, X, trace, workspace=net.workspace)
    forward_values = [[a.copy() for a in part if a is not None] for part in trace]
    _, delta = loss_and_output_delta(z, Y, out)
    dX = net._backward(params, trace, delta, input_gradient=True, workspace=net.workspace)
    # The interface's backward, on its own forward pass, gives the same.
    z_public, public_trace = net.forward(theta, X)
    _, public_delta = loss_and_output_delta(z_public, Y, out)
    np.testing.assert_array_equal(
        net.backward(theta, public_trace, public_delta, input_gradient=True)[1], dX)
    ref = reference.backward(Ws, reference.forward(Ws, bs, X, activation, slopes, 0.07), Y,
                             activation, out)
    assert dX.dtype == dtype
    _close(dX, ref.dX, dtype, "dL/dX")
    # The backward pass reads the trace and leaves it as the forward pass made it.
    for kept, part in zip(forward_values, trace, strict=True):
        for before, after in zip(kept, [a for a in part if a is not None], strict=True):
            np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_steps_match_the_reference(nesterov, dtype):
    rng = np.random.default_rng(4)
    theta, velocity = rng.normal(size=50).astype(dtype), rng.normal(size=50).astype(dtype)
    state = dict(init_sgd_state(theta, 0.05), velocity=velocity.copy())
    ref_theta, ref_velocity = theta.copy(), velocity.copy()
    for grad in rng.normal(size=(3, 50)).astype(dtype):
        sgd_step(theta, grad, state, momentum=0.8, nesterov=nesterov)
        ref_theta, ref_velocity = reference.sgd_step(ref_theta, grad, ref_velocity, 0.05, 0.8,
                                                     nesterov)
        assert theta.dtype == state["velocity"].dtype == dtype
        _close(theta, ref_theta, dtype, "theta")
        _close(state["velocity"], ref_velocity, dtype, "velocity")


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_steps_match_the_reference(dtype):
    rng = np.random.default_rng(5)
    # Gradients of all sizes, and an epsilon that matters next to the smallest.
    theta = rng.normal(size=60).astype(dtype)
    grads = (rng.normal(size=(4, 60)) * np.logspace(-4, 1, 60)).astype(dtype)
    hyper = dict(beta_1=0.8, beta_2=0.99, epsilon=1e-3)
    state = init_adam_state(theta)
    m = v = np.zeros(60, dtype=dtype)
    ref_theta, t = theta.copy(), 0
    for grad in grads:
        adam_step(theta, grad, state, learning_rate_init=0.01, **hyper)
        ref_theta, m, v, t = reference.adam_step(ref_theta, grad, m, v, t, 0.01, **hyper)
        assert theta.dtype == dtype and state["t"] == t
        _close(theta, ref_theta, dtype, "theta")
        # The state keeps the moments as decaying sums, m / (1 - beta_1) and v / (1 - beta_2).
        _close(state["grad_sum"] * (1 - 0.8), m, dtype, "m")
        _close(state["grad_sq_sum"] * (1 - 0.99), v, dtype, "v")


def _perceptron_problem(dtype, n_outputs, n=60, seed=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(dtype)
    W_true = rng.normal(size=(5, n_outputs))
    Y = np.where(X @ W_true + 0.3 * rng.normal(size=(n, n_outputs)) > 0, 1, -1).astype(dtype)
    s = rng.choice([0.5, 1.0, 2.0], n).astype(dtype)
    return X, Y, s, rng.permutation(n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("averaged", [False, True])
def test_online_epochs_match_the_lessons_loop(averaged, n_outputs, dtype):
    X, Y, s, order = _perceptron_problem(dtype, n_outputs)
    W, b = np.zeros((5, n_outputs), dtype), np.zeros(n_outputs, dtype)
    weights = Weights(W.copy(), b.copy(), averaged=averaged)
    # The fast average runs over every presentation since the start: sum the loop's epochs.
    W_sum, b_sum, count = np.zeros_like(W, np.float64), np.zeros_like(b, np.float64), 0.0
    for epoch_order in (order, None, order[::-1]):
        rows = slice(None) if epoch_order is None else epoch_order
        loss, mistakes = online_epoch(weights, X, Y, s, 0.5, epoch_order)
        W, b, (W_avg, b_avg), ref_loss, ref_mistakes = reference.perceptron_online_epoch(
            W, b, X[rows], Y[rows], s[rows], 0.5)
        _close(weights.W, W, dtype, "W")
        _close(weights.b, b, dtype, "b")
        assert (loss, mistakes) == pytest.approx((ref_loss, ref_mistakes), rel=RTOL[dtype])
        assert mistakes > 0  # the epochs exercise the rule
        W_sum, b_sum, count = W_sum + W_avg * s.sum(), b_sum + b_avg * s.sum(), count + s.sum()
        if averaged:
            W_mean, b_mean = weights.average()
            _close(W_mean, W_sum / count, dtype, "averaged W")
            _close(b_mean, b_sum / count, dtype, "averaged b")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("l2, l1", [(0.0, 0.0), (0.01, 0.0), (0.0, 0.02), (0.01, 0.02)])
def test_minibatch_steps_match_the_reference_on_scaled_features(l1, l2, n_outputs, dtype):
    X, Y, s, order = _perceptron_problem(dtype, n_outputs)
    scale = np.sqrt((X**2).mean(axis=0)) * np.array([1, 10, 0.1, 3, 1])
    X = (X * scale).astype(dtype)  # features of unequal scales, which the rule divides out
    weights = Weights(np.zeros((5, n_outputs), dtype), np.zeros(n_outputs, dtype),
                      scale=scale, l2=l2, l1=l1)
    # The rule on X / scale, whose weights are W * scale.
    X_scaled, W, b = X / scale, np.zeros((5, n_outputs)), np.zeros(n_outputs)
    zeroed = False
    for _ in range(3):
        minibatch_epoch(weights, X, Y, s, 0.5, 16, order)
        for start in range(0, len(order), 16):
            rows = order[start : start + 16]
            W, b = reference.perceptron_minibatch_step(W, b, X_scaled[rows], Y[rows], s[rows],
                                                       0.5, l2=l2, l1=l1)
            zeroed |= bool((W == 0).any())
        _close(weights.W * scale[:, None], W, dtype, "W")
        _close(weights.b, b, dtype, "b")
    assert np.abs(W).max() > 0
    assert zeroed == (l1 > 0)  # the soft threshold reached zero on some weight


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_the_online_pocket_keeps_the_reference_pocket_s_weights(n_outputs):
    X, Y, s, order = _perceptron_problem(np.float64, n_outputs, n=80, seed=8)
    Y[::40] *= -1  # noise: the rule never settles, so the pocket has work to do

    def accuracy(W, b):
        return float(s @ (Y * (X @ W + b) > 0).all(axis=1))

    weights = Weights(np.zeros((5, n_outputs)), np.zeros(n_outputs))
    pocket, plain = Pocket(accuracy), reference.PlainPocket(accuracy)
    W, b = np.zeros((5, n_outputs)), np.zeros(n_outputs)
    for epoch_order in (order, None, order[::-1], order):
        rows = slice(None) if epoch_order is None else epoch_order
        online_epoch(weights, X, Y, s, 0.5, epoch_order, pocket)
        W, b, *_ = reference.perceptron_online_epoch(W, b, X[rows], Y[rows], s[rows], 0.5,
                                                     pocket=plain)
        assert pocket.best_score == plain.best_score
        assert (pocket.run, pocket.pocket_run) == (plain.run, plain.pocket_run)
        np.testing.assert_allclose(pocket.best[0], plain.best[0], rtol=1e-12)
        np.testing.assert_allclose(pocket.best[1], plain.best[1], rtol=1e-12)
    assert plain.pocket_run > 0 and plain.best_score > 0  # the pocket was used


def test_the_pocket_follows_the_reference_pocket_answer_by_answer():
    """Runs of right answers in chunks (as the fast epochs report them), a change of weights
    after some: the ratchet's state after each chunk is the one-answer-at-a-time pocket's."""
    rng = np.random.default_rng(9)
    versions = rng.uniform(0, 1, 200)  # each version of the weights scores its own number

    class Current:  # the weights the rule has now: version v is W = [[v]]
        W, b = np.zeros((1, 1)), np.zeros(1)

    def score(W, b):
        return float(versions[int(W[0, 0])])

    pocket, plain, current = Pocket(score), reference.PlainPocket(score), Current()
    for _ in range(150):
        right, changed = int(rng.integers(0, 6)), bool(rng.random() < 0.6)
        pocket.extend(current, right, changed)
        for _ in range(right):
            plain.answer(current.W, current.b, right=True)
        if changed:
            plain.answer(current.W, current.b, right=False)
            current.W = current.W + 1
        state = pocket.run, pocket.pocket_run, pocket.scored, pocket.current, pocket.best_score
        assert state == (plain.run, plain.pocket_run, plain.scored, plain.current,
                         plain.best_score)
    assert plain.best[0][0, 0] > 0  # later weights were pocketed


@pytest.mark.parametrize("n_classes", [2, 3])
def test_an_mlp_epoch_is_the_reference_s_plain_adam_epoch(n_classes):
    """The estimator's whole training epoch (batches, Adam, the penalty, the reported loss)
    against the textbook's loop, from the same starting weights."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skdnn import MLPClassifierFromScratch

    rng = np.random.default_rng(10)
    X = rng.normal(size=(70, 4))
    y = rng.integers(0, n_classes, 70)
    model = MLPClassifierFromScratch((6, 5), activation="tanh", batch_size=16, alpha=0.01,
                                     learning_rate_init=0.01, shuffle=False, max_iter=1,
                                     warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        Ws, bs = [W.copy() for W in model.coefs_], [b.copy() for b in model.intercepts_]
        model.fit(X, y)  # warm_start: one more epoch from these weights, Adam started anew
    Y = np.eye(n_classes)[y] if n_classes > 2 else y[:, None].astype(float)
    out = "softmax" if n_classes > 2 else "logistic"
    Ws, bs, _, epoch_loss = reference.adam_epoch(Ws, bs, X, Y, "tanh", out, 16,
                                                 learning_rate=0.01, alpha=0.01)
    for fast, ref in zip(model.coefs_ + model.intercepts_, Ws + bs, strict=True):
        _close(fast, ref, np.float64, "weights after one epoch")
    assert model.loss_curve_[-1] == pytest.approx(epoch_loss, rel=1e-10)


@pytest.mark.parametrize("n_rows", [40, 50])  # two chunks of 20; chunks of 17, 17 and 16
def test_tabnet_s_attentive_step_is_the_reference_s(n_rows):
    from skdnn.nn.tabnet import TabNet

    rng = np.random.default_rng(11)
    net = TabNet(6, 2, n_d=4, n_a=3, n_steps=2, gamma=1.4, virtual_batch_size=20)
    theta = net.init(rng)
    P, S = net.layout.views(theta), net.stats.views(net.buffers)
    P["att0.bn.gamma"][...] = rng.uniform(0.5, 2.0, 6)
    P["att0.bn.beta"][...] = rng.normal(size=6)
    a = rng.normal(size=(n_rows, 3))
    prior = rng.uniform(0.2, 1.4, size=(n_rows, 6))
    M, _ = net.attention[0].forward(P, S, a, prior, training=True)
    ref_M, ref_prior = reference.attentive_step(a, prior, P["att0.A"], P["att0.bn.gamma"],
                                                P["att0.bn.beta"], 20, relaxation=1.4)
    _close(M, ref_M, np.float64, "mask")
    assert (M == 0).any() and np.allclose(M.sum(axis=1), 1)  # sparse rows on the simplex
    # The forward pass's next prior is the reference's.
    _, trace = net.forward(theta, rng.normal(size=(n_rows, 6)), training=True)
    np.testing.assert_allclose(trace.priors[1], trace.priors[0] * (1.4 - trace.masks[0]))
    _close(prior * (1.4 - M), ref_prior, np.float64, "next prior")
