"""The tabular network of the engine (skdnn.nn.tabular): each layer's backward against central
finite differences and against its plain form in skdnn.nn.reference, the whole objective's
gradient, the ensemble, float32 and learnability."""

import numpy as np
import pytest

from skdnn.nn import reference, tabular
from skdnn.nn.losses import output_loss, output_values
from skdnn.nn.optimizers import Adam
from skdnn.nn.tabular import TabularNetwork


def _rng(seed=0):
    return np.random.default_rng(seed)


def _check_layer(central_differences, forward, backward, arrays, rtol=1e-6, atol=1e-8):
    """``backward(D)`` returns the gradients of ``sum(forward() * D)`` with respect to each of
    ``arrays`` (moved in place by the finite differences), in their order."""
    D = _rng(99).normal(size=forward().shape)
    analytic = backward(D)
    for array, grad in zip(arrays, analytic, strict=True):
        numeric = central_differences(lambda _: float((forward() * D).sum()), array)
        np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=atol)


# -- each layer: backward against finite differences, forward against reference.py -----------
def test_periodic_embedding_gradients_and_plain_form(central_differences):
    rng = _rng()
    x, freq, phase = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    V, c = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))

    def forward():
        return tabular.periodic_forward(x, freq, phase, V, c)[0]

    def backward(D):
        grads = [np.empty_like(freq), np.empty_like(phase), np.empty_like(V), np.empty_like(c)]
        dx = tabular.periodic_backward(tabular.periodic_forward(x, freq, phase, V, c)[1], D,
                                       freq, V, grads)
        return [dx, *grads]

    _check_layer(central_differences, forward, backward, [x, freq, phase, V, c])
    np.testing.assert_allclose(forward(), reference.periodic_embedding(x, freq, phase, V, c),
                               rtol=1e-12)


def _pl_network(X, n_bins=4, dtype=np.float64):
    net = TabularNetwork(X.shape[1], [], 1, "identity", hidden=(3,), k=2, num_embedding="pl",
                         n_bins=n_bins, numeric_embedding_dim=3, dtype=dtype)
    return net, net.init(_rng(), X)


def test_piecewise_linear_embedding_gradients_and_plain_form(central_differences):
    rng = _rng()
    # The second column takes 3 values only: its quantile edges repeat, so it has fewer bins.
    x = np.c_[rng.normal(size=40), rng.integers(0, 3, 40)]
    net, _ = _pl_network(x)
    B = net.buffer_layout.views(net.buffers)
    assert list(B["n_bins"]) == [4, 2]
    w, b, V = rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 4, 3))
    # Inside the bins and beyond both ends (where the first and last bins are not clipped),
    # away from the kinks, where the derivative is not defined.
    x_small = np.r_[x[:6], [[-4.0, -1.0], [4.0, 3.0]]]
    x_small[:, 1] += 0.3

    def forward():
        return tabular.piecewise_linear_forward(x_small, w, b, V, B["slope"], B["offset"],
                                                B["n_bins"])[0]

    def backward(D):
        grads = [np.empty_like(w), np.empty_like(b), np.empty_like(V)]
        cache = tabular.piecewise_linear_forward(x_small, w, b, V, B["slope"], B["offset"],
                                                 B["n_bins"])[1]
        dx = tabular.piecewise_linear_backward(cache, D, w, V, B["slope"], grads)
        return [dx, *grads]

    _check_layer(central_differences, forward, backward, [x_small, w, b, V])
    edges = [np.unique(np.quantile(x[:, j], np.linspace(0, 1, 5))) for j in range(2)]
    np.testing.assert_allclose(forward(),
                               reference.piecewise_linear_embedding(x_small, w, b, V, edges),
                               rtol=1e-12, atol=1e-12)


def test_categorical_embedding_gradient_and_plain_form(central_differences):
    rng = _rng()
    codes = np.c_[rng.integers(0, 3, 8), rng.integers(0, 5, 8)]
    offsets = np.array([0, 3])
    table = rng.normal(size=(8, 2))

    def backward(D):
        grad = np.empty_like(table)
        tabular.categorical_backward(tabular.categorical_forward(codes, table, offsets)[1], D,
                                     grad)
        return [grad]

    _check_layer(central_differences,
                 lambda: tabular.categorical_forward(codes, table, offsets)[0], backward, [table])
    np.testing.assert_array_equal(tabular.categorical_forward(codes, table, offsets)[0],
                                  reference.categorical_embedding(codes, [table[:3], table[3:]]))


def test_scaling_layer_gradients_and_plain_form(central_differences):
    rng = _rng()
    h, s = rng.normal(size=(6, 4)), rng.normal(size=4)

    def backward(D):
        ds = np.empty_like(s)
        dh = tabular.scaling_backward(h, D, s, ds)
        return [dh, ds]

    _check_layer(central_differences, lambda: tabular.scaling_forward(h, s), backward, [h, s])
    np.testing.assert_array_equal(tabular.scaling_forward(h, s), reference.scaling_layer(h, s))


@pytest.mark.parametrize("adapters", ["rsb", "r", "none", "shared input"])
def test_batch_ensemble_linear_gradients_and_plain_form(central_differences, adapters):
    rng = _rng()
    n, k, d_in, d_out = 5, 3, 4, 2
    # "shared input": the first layer, whose one input row is seen by every member.
    x = rng.normal(size=(n, 1 if adapters == "shared input" else k, d_in))
    W = rng.normal(size=(d_in, d_out))
    r = rng.normal(size=(k, d_in)) if adapters != "none" else None
    s = rng.normal(size=(k, d_out)) if adapters == "rsb" else None
    b = rng.normal(size=(k, d_out)) if adapters == "rsb" else rng.normal(size=d_out)
    scale = 1 / np.sqrt(d_in)

    def forward():
        return tabular.ensemble_linear_forward(np.broadcast_to(x, (n, k, d_in)), W, scale, r,
                                               s, b)[0]

    def backward(D):
        grads = [np.empty_like(W), None if r is None else np.empty_like(r),
                 None if s is None else np.empty_like(s), np.empty_like(b)]
        cache = tabular.ensemble_linear_forward(np.broadcast_to(x, (n, k, d_in)), W, scale, r,
                                                s, b)[1]
        dxr = tabular.ensemble_linear_backward(cache, D, W, scale, grads, r, s)
        dx = dxr * r if r is not None else dxr
        return [dx.sum(axis=1, keepdims=True) if x.shape[1] == 1 else dx,
                *[g for g in grads if g is not None]]

    _check_layer(central_differences, forward, backward,
                 [x] + [a for a in (W, r, s, b) if a is not None])
    plain = reference.batch_ensemble_linear(
        np.broadcast_to(x, (n, k, d_in)), W, r if r is not None else np.ones((k, d_in)),
        s if s is not None else np.ones((k, d_out)), np.broadcast_to(b, (k, d_out)))
    np.testing.assert_allclose(forward(), plain, rtol=1e-12)


def test_linear_heads_gradients_and_plain_form(central_differences):
    rng = _rng()
    a, W, b = rng.normal(size=(5, 3, 4)), rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))
    scale = 0.5

    def backward(D):
        dW, db = np.empty_like(W), np.empty_like(b)
        da = tabular.heads_backward(a, D, W, scale, dW, db)
        return [da, dW, db]

    _check_layer(central_differences, lambda: tabular.heads_forward(a, W, b, scale), backward,
                 [a, W, b])
    np.testing.assert_allclose(tabular.heads_forward(a, W, b, scale),
                               reference.linear_heads(a, W, b), rtol=1e-12)


@pytest.mark.parametrize("activation", ["selu", "mish", "relu"])
@pytest.mark.parametrize("parametric", [True, False])
def test_parametric_activation_gradients_and_plain_form(central_differences, activation,
                                                        parametric):
    rng = _rng()
    z = rng.normal(size=(6, 2, 5))
    z[np.abs(z) < 1e-3] = 0.5   # away from ReLU's kink
    alpha = rng.normal(size=5) if parametric else None
    g, g_prime = tabular.BASE_ACTIVATIONS[activation]

    def backward(D):
        dalpha = np.empty(5)
        gz = tabular.parametric_forward(z, alpha, g)[1]
        dz = tabular.parametric_backward(z, gz, D, alpha, g_prime, dalpha)
        return [dz, dalpha] if parametric else [dz]

    _check_layer(central_differences, lambda: tabular.parametric_forward(z, alpha, g)[0],
                 backward, [z, alpha] if parametric else [z])
    expected = reference.parametric_activation(z, alpha if parametric else 1.0, activation)
    np.testing.assert_allclose(tabular.parametric_forward(z, alpha, g)[0], expected,
                               rtol=1e-12, atol=1e-15)


# -- the whole network ---------------------------------------------------------------------
CONFIGS = {
    "pbld mini": {},
    "pbld batch": {"ensemble": "batch"},
    "pl mini": {"num_embedding": "pl", "n_bins": 3, "numeric_embedding_dim": 3},
    "plain mish": {"num_embedding": None, "activation": "mish"},
    "k=1 no extras": {"k": 1, "parametric_activation": False, "scaling_layer": False},
}


def _data(n=9, seed=0):
    """Two continuous columns, one 0/1 column (a one-hot), two categorical codes."""
    rng = _rng(seed)
    return np.c_[rng.normal(size=(n, 2)), rng.integers(0, 2, n), rng.integers(0, 3, n),
                 rng.integers(0, 4, n)].astype(float)


def _targets(out_activation, n, n_outputs, seed=1):
    rng = _rng(seed)
    if out_activation == "softmax":
        return np.eye(n_outputs)[rng.integers(0, n_outputs, n)]
    if out_activation == "logistic":
        return rng.integers(0, 2, (n, n_outputs)).astype(float)
    return rng.normal(size=(n, n_outputs))


def _network(out_activation="softmax", n_outputs=3, dtype=np.float64, **kwargs):
    options = {"hidden": (5, 4), "k": 3, "n_continuous": 2, "embedding_dim": 2} | kwargs
    return TabularNetwork(3, [3, 4], n_outputs, out_activation, dtype=dtype, **options)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("out_activation, n_outputs",
                         [("softmax", 3), ("logistic", 1), ("identity", 1), ("identity", 2)])
def test_loss_and_gradient_matches_finite_differences(central_differences, config,
                                                      out_activation, n_outputs):
    X = _data()
    Y = _targets(out_activation, len(X), n_outputs)
    weights = _rng(2).uniform(0.2, 3, len(X))
    net = _network(out_activation, n_outputs, **CONFIGS[config])
    theta = net.init(_rng(), X)
    grad = np.full_like(theta, np.nan)   # every entry must be overwritten

    def objective(t):
        loss = net.loss_and_gradient(t, np.empty_like(t), X, Y, weights)
        # The gradient of several squared-error outputs is that of their sum, as in Network.
        return loss * (n_outputs if out_activation == "identity" else 1)

    objective_at_theta = net.loss_and_gradient(theta, grad, X, Y, weights)
    numeric = central_differences(objective, theta.copy())
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    assert np.isfinite(objective_at_theta)


def test_label_smoothed_targets_gradient_matches_finite_differences(central_differences):
    """RealMLP's label smoothing (the estimator's, eps = 0.1) gives soft target rows; the
    cross-entropy's gradient is still ``p - y`` for them."""
    X, net = _data(), _network()
    Y = _targets("softmax", len(X), 3) * 0.9 + 0.1 / 3
    theta = net.init(_rng(), X)
    grad = np.empty_like(theta)
    net.loss_and_gradient(theta, grad, X, Y)
    numeric = central_differences(
        lambda t: net.loss_and_gradient(t, np.empty_like(t), X, Y), theta.copy())
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_dropout_gradient_matches_finite_differences_with_the_same_masks(central_differences):
    X, net = _data(), _network(dropout=0.3)
    Y = _targets("softmax", len(X), 3)
    theta = net.init(_rng(), X)
    grad = np.empty_like(theta)
    net.loss_and_gradient(theta, grad, X, Y, rng=_rng(5))
    numeric = central_differences(
        lambda t: net.loss_and_gradient(t, np.empty_like(t), X, Y, rng=_rng(5)), theta.copy())
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    # and the masks do change the logits
    assert not np.allclose(net.forward(theta, X, training=True, rng=_rng(5))[0],
                           net.forward(theta, X)[0])


@pytest.mark.parametrize("config", CONFIGS)
def test_input_gradient_matches_finite_differences(central_differences, config):
    X = _data()
    net = _network(**CONFIGS[config])
    theta = net.init(_rng(), X)
    z, trace = net.forward(theta, X)
    D = _rng(3).normal(size=z.shape)
    _, dX = net.backward(theta, trace, D, input_gradient=True)
    numeric = central_differences(
        lambda x: float((net.forward(theta, np.c_[x, X[:, 3:]])[0] * D).sum()), X[:, :3].copy())
    np.testing.assert_allclose(dX[:, :3], numeric, rtol=1e-5, atol=1e-8)
    assert dX.shape == X.shape
    assert not dX[:, 3:].any()   # no gradient for the categorical codes


def _check_embedded_pass(central_differences, net, theta, X):
    """``forward_embedded(embed(X))`` gives ``forward(X)``'s logits, and the input gradient
    of its backward is the derivative of ``sum(z * D)`` in ``U``; returns ``D``, the
    parameters' gradient and ``dU``."""
    U = net.embed(theta, X)
    z, trace = net.forward_embedded(theta, U)
    np.testing.assert_allclose(z, net.forward(theta, X)[0], rtol=1e-12, atol=1e-13)
    D = _rng(3).normal(size=z.shape)
    grad, dU = net.backward(theta, trace, D, input_gradient=True)
    numeric = central_differences(
        lambda u: float((net.forward_embedded(theta, u)[0] * D).sum()), U.copy())
    np.testing.assert_allclose(dU, numeric, rtol=1e-5, atol=1e-8)
    return D, grad, dU


@pytest.mark.parametrize("config", CONFIGS)
def test_the_embedded_input_gives_the_same_logits_and_its_gradient(central_differences, config):
    """``embed`` puts each category's embedding row in place of its code; the forward pass
    from there is the usual one, and its input gradient (the categories' included) is the
    derivative of the logits: what the explanations integrate."""
    X = _data()
    net = _network(**CONFIGS[config])
    theta = net.init(_rng(), X)
    U = net.embed(theta, X)
    table = net.layout.views(theta)["embedding"]
    assert U.shape == (len(X), 3 + 2 * 2) == (len(X), net.n_embedded)
    np.testing.assert_array_equal(U[:, :3], X[:, :3])
    np.testing.assert_array_equal(U[:, 5:], table[3 + X[:, 4].astype(int)])  # after 3 levels
    D, grad, dU = _check_embedded_pass(central_differences, net, theta, X)
    assert dU[:, 3:].any()   # the categories' embeddings have a gradient here
    # the tables are not read: their gradient is zero, the others' are the usual ones
    assert not net.layout.views(grad)["embedding"].any()
    usual = net.backward(theta, net.forward(theta, X)[1], D)[0]
    np.testing.assert_allclose(net.layout.views(grad)["W0"], net.layout.views(usual)["W0"],
                               rtol=1e-12)


@pytest.mark.parametrize("out_activation, n_outputs",
                         [("softmax", 3), ("logistic", 1), ("identity", 2)])
def test_member_average_passes_the_embedded_input_through(central_differences, out_activation,
                                                          n_outputs):
    X = _data()
    net = tabular.MemberAverage(_network(out_activation, n_outputs))
    theta = net.init(_rng(), X)
    _check_embedded_pass(central_differences, net, theta, X)


@pytest.mark.parametrize("change", [lambda U: U[:, :-1], lambda U: U * np.nan])
def test_a_bad_embedded_input_raises_a_clear_error(change):
    X, net = _data(), _network()
    theta = net.init(_rng(), X)
    with pytest.raises(ValueError, match=r"U must be finite, of shape \(n_samples, 7\)"):
        net.forward_embedded(theta, change(net.embed(theta, X)))


def test_backward_without_input_gradient_returns_none_and_fills_a_new_grad():
    X, net = _data(), _network()
    theta = net.init(_rng(), X)
    z, trace = net.forward(theta, X)
    grad, dX = net.backward(theta, trace, np.ones_like(z))
    assert dX is None and grad.shape == theta.shape and grad is not theta


# -- the ensemble --------------------------------------------------------------------------
def test_loss_is_the_mean_of_the_members_weighted_losses():
    X, net = _data(), _network()
    Y, weights = _targets("softmax", len(X), 3), _rng(4).uniform(0.5, 2, len(X))
    theta = net.init(_rng(), X)
    z = net.forward(theta, X)[0]
    members = [output_loss(z[:, m], Y, "softmax", weights) for m in range(net.k)]
    loss = net.loss_and_gradient(theta, np.empty_like(theta), X, Y, weights)
    assert loss == pytest.approx(np.mean(members), rel=1e-12)
    assert np.ptp(members) > 1e-3   # the members differ, so the mean is not one member's


def test_members_differ_after_init():
    X = _data(50)
    for config in ("pbld mini", "pbld batch", "plain mish"):
        net = _network(**CONFIGS[config])
        z, trace = net.forward(net.init(_rng(), X), X)
        first_layer = trace["layers"][0][1]   # (n, k, d): the adapters r differ too
        for m in range(1, net.k):
            assert not np.allclose(z[:, 0], z[:, m], atol=1e-3)
            assert not np.allclose(first_layer[:, 0], first_layer[:, m], atol=1e-3)


def test_outputs_average_the_members_probabilities_not_their_logits():
    X, net = _data(30), _network()
    theta = net.init(_rng(), X)
    z = net.forward(theta, X)[0]
    probabilities = np.stack([output_values(z[:, m], "softmax") for m in range(net.k)], 1)
    out = net.outputs(theta, X)
    assert out.shape == (len(X), 3)
    np.testing.assert_allclose(out, probabilities.mean(axis=1), rtol=1e-12)
    assert not np.allclose(out, output_values(z.mean(axis=1), "softmax"), atol=1e-4)


def test_k1_without_extras_is_a_plain_mlp():
    """k = 1, no embeddings, no scaling layer, plain ReLU: the network is reference.forward's
    MLP with weights W / sqrt(d_in) (the NTK parametrisation)."""
    rng = _rng()
    X = rng.normal(size=(12, 4))
    net = TabularNetwork(4, [], 2, "softmax", hidden=(6, 5), k=1, num_embedding=None,
                         scaling_layer=False, parametric_activation=False, activation="relu",
                         dtype=np.float64)
    theta = net.init(rng)
    P = net.layout.views(theta)
    P["W_out"][...], P["b_out"][...] = rng.normal(size=(1, 5, 2)), rng.normal(size=(1, 2))
    assert "r0" not in P   # one member has no adapter
    Ws = [P["W0"] / 2, P["W1"] / np.sqrt(6), P["W_out"][0] / np.sqrt(5)]
    bs = [P["b0"], P["b1"], P["b_out"][0]]
    plain = reference.forward(Ws, bs, X, "relu").z[-1]
    np.testing.assert_allclose(net.forward(theta, X)[0][:, 0], plain, rtol=1e-12)
    np.testing.assert_allclose(net.outputs(theta, X), reference.OUTPUTS["softmax"](plain),
                               rtol=1e-12)


def test_data_dependent_init_gives_unit_variance_pre_activations():
    """RealMLP's 'std' weight init: on the init rows every first-layer unit's pre-activation
    (before the bias) has standard deviation 1; 'he+5' biases put the kinks inside the data."""
    X = _data(200)
    net = _network(k=4)
    theta = net.init(_rng(), X)
    P = net.layout.views(theta)
    trace = net.forward(theta, X)[1]
    z = trace["layers"][0][1]                        # (n, k, d) after the bias
    centred = z - P["b0"]
    np.testing.assert_allclose(centred.reshape(-1, z.shape[2]).std(axis=0), 1, rtol=1e-6)
    # he+5: minus each bias is a convex combination of the unit's pre-activations
    assert (P["b0"] != 0).all()
    assert ((centred.min(axis=(0, 1)) <= -P["b0"]) & (-P["b0"] <= centred.max(axis=(0, 1)))).all()
    without_data = net.init(_rng())
    assert not np.allclose(theta, without_data)


# -- float32, memory, errors ---------------------------------------------------------------
def test_float32_by_default():
    X = _data(20)
    net = TabularNetwork(3, [3, 4], 3, "softmax", hidden=(8,), k=2, n_continuous=2)
    theta = net.init(_rng(), X)
    z, trace = net.forward(theta, X)
    grad = np.empty_like(theta)
    net.loss_and_gradient(theta, grad, X, _targets("softmax", 20, 3))
    _, dX = net.backward(theta, trace, np.ones_like(z), input_gradient=True)
    for array in (theta, z, grad, dX, net.outputs(theta, X), net.lr_factor_vector()):
        assert array.dtype == np.float32


def test_outputs_in_blocks_equal_one_pass(monkeypatch):
    X = _data(50)
    net = _network()
    theta = net.init(_rng(), X)
    whole = net.outputs(theta, X)
    assert net.row_bytes > 0
    monkeypatch.setattr(tabular, "PREDICT_BYTES", 7 * net.row_bytes)   # blocks of 7 rows
    np.testing.assert_allclose(net.outputs(theta, X), whole, rtol=1e-12)


def test_a_training_pass_holds_memory_linear_in_the_rows_and_within_row_bytes():
    import tracemalloc
    net = TabularNetwork(3, [3, 4], 2, "softmax", hidden=(32, 32), k=4, n_continuous=2)
    X = _data(2000)
    theta = net.init(_rng(), X)
    grad = np.empty_like(theta)
    per_row = []
    for n in (500, 2000):
        Y = _targets("softmax", n, 2)
        tracemalloc.start()
        net.loss_and_gradient(theta, grad, X[:n], Y)
        per_row.append(tracemalloc.get_traced_memory()[1] / n)
        tracemalloc.stop()
    assert per_row[1] == pytest.approx(per_row[0], rel=0.2)   # O(n), not O(n^2)
    assert per_row[1] <= net.row_bytes


def test_row_bytes_grows_with_the_width_and_the_members():
    small = TabularNetwork(5, [], 1, "identity", hidden=(16,), k=2).row_bytes
    assert TabularNetwork(5, [], 1, "identity", hidden=(32,), k=2).row_bytes > small
    assert TabularNetwork(5, [], 1, "identity", hidden=(16,), k=4).row_bytes > small


def test_lr_factors_follow_realmlp():
    net = _network()
    factors = net.layout.views(net.lr_factor_vector())
    assert (factors["scale"] == 6).all() and (factors["b0"] == 0.1).all()
    assert (factors["pbld.freq"] == 0.1).all() and (factors["W0"] == 1).all()


@pytest.mark.parametrize("change, match", [
    (lambda X: X[:, :4], "shape"),
    (lambda X: np.c_[X[:, :3], np.full(len(X), 3.0), X[:, 4]], "integer code"),
    (lambda X: np.c_[X[:, :3], np.full(len(X), 0.5), X[:, 4]], "integer code"),
    (lambda X: np.c_[np.full(len(X), np.nan), X[:, 1:]], "NaN"),
])
def test_bad_input_raises_a_clear_error(change, match):
    X, net = _data(), _network()
    theta = net.init(_rng(), X)
    with pytest.raises(ValueError, match=match):
        net.forward(theta, change(X))


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": "tanh"}, "activation"), ({"num_embedding": "plr"}, "num_embedding"),
    ({"ensemble": "packed"}, "ensemble"), ({"k": 0}, "k >= 1"), ({"dropout": 1.0}, "dropout"),
])
def test_bad_constructor_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _network(**kwargs)


# -- learnability ----------------------------------------------------------------------------
@pytest.mark.parametrize("config", ["pbld mini", "pl mini"])
def test_a_few_adam_steps_fit_a_small_nonlinear_problem(config):
    """Learnability only (the package's training loop is elsewhere): full-batch Adam on 300
    rows whose class depends on a periodic function of a number and on a category."""
    rng = _rng()
    n = 300
    X = np.c_[rng.uniform(-2, 2, (n, 2)), rng.integers(0, 2, n), rng.integers(0, 3, n),
              rng.integers(0, 4, n)].astype(np.float32)
    label = ((np.sin(3 * X[:, 0]) > 0) ^ (X[:, 3] == 1)).astype(int)
    Y = np.eye(2, dtype=np.float32)[label]
    net = TabularNetwork(3, [3, 4], 2, "softmax", hidden=(32, 32), k=4, n_continuous=2,
                         **CONFIGS[config])
    theta = net.init(rng, X)
    grad = np.empty_like(theta)
    adam = Adam(learning_rate_init=0.01)
    state = adam.new_state(theta)
    first = net.loss_and_gradient(theta, grad, X, Y)
    for _ in range(150):
        loss = net.loss_and_gradient(theta, grad, X, Y)
        adam.step(theta, grad, state)
    assert loss < 0.1 < first
    assert (net.outputs(theta, X).argmax(axis=1) == label).mean() > 0.97


def test_the_defaults_are_realmlp_td_s_width_and_a_small_tabm_ensemble():
    # RealMLP-TD's hidden_sizes=[256] * 3 and 4 values per PBLD-embedded column, and k=8
    # members (TabM's 32 cost about linearly more): the layout a default network builds.
    net = TabularNetwork(5, [7], 3, "softmax")
    blocks = {name: shape for name, (_, _, shape) in net.layout.blocks.items()}
    d_in = 5 * 4 + 8  # five embedded numbers, one categorical table of width 8
    assert [blocks[f"W{layer}"] for layer in range(3)] == [(d_in, 256), (256, 256), (256, 256)]
    assert blocks["W_out"] == (8, 256, 3) and blocks["r0"] == (8, d_in)
    assert blocks["embedding"] == (7, 8) and "W3" not in blocks


def test_the_scaling_layer_starts_as_the_identity():
    # RealMLP-TD's front scale starts at 1: the first forward pass sees the inputs as given.
    net = TabularNetwork(3, [], 2, "softmax", hidden=(8,), k=2)
    X = np.random.default_rng(0).normal(size=(20, 3))
    theta = net.init(np.random.default_rng(1), X)
    np.testing.assert_array_equal(net.layout.views(theta)["scale"], 1)


# -- the ensemble seen as one network (MemberAverage) ------------------------------------------
@pytest.mark.parametrize("out_activation, n_outputs",
                         [("softmax", 3), ("logistic", 2), ("identity", 2)])
def test_member_average_logits_give_the_averaged_outputs_and_their_gradients(
        central_differences, out_activation, n_outputs):
    X = _data()
    net = tabular.MemberAverage(_network(out_activation, n_outputs))
    theta = net.init(_rng(), X)
    z, trace = net.forward(theta, X)
    assert z.shape == (len(X), n_outputs)
    # the output layer of the averaged logits is the members' averaged outputs
    np.testing.assert_allclose(output_values(z.copy(), out_activation),
                               net.outputs(theta, X), rtol=1e-12)
    members = net.network.forward(theta, X)[0]
    if out_activation == "softmax":  # its softmax is the mean of the members' softmaxes
        manual = np.mean([output_values(members[:, m].copy(), "softmax")
                          for m in range(net.k)], axis=0)
        np.testing.assert_allclose(np.exp(z), manual, rtol=1e-12)
    D = _rng(5).normal(size=z.shape)
    grad, dX = net.backward(theta, trace, D, input_gradient=True)
    numeric = central_differences(lambda t: float((net.forward(t, X)[0] * D).sum()),
                                  theta.copy())
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    numeric_x = central_differences(
        lambda x: float((net.forward(theta, np.c_[x, X[:, 2:]])[0] * D).sum()), X[:, :2].copy())
    np.testing.assert_allclose(dX[:, :2], numeric_x, rtol=1e-5, atol=1e-8)


def test_member_average_trains_on_the_mean_of_the_members_losses():
    X = _data()
    net = tabular.MemberAverage(_network())
    theta = net.init(_rng(), X)
    Y = _targets("softmax", len(X), 3)
    a, b = np.empty_like(theta), np.empty_like(theta)
    loss = net.loss_and_gradient(theta, a, X, Y)
    assert loss == net.network.loss_and_gradient(theta, b, X, Y)
    np.testing.assert_array_equal(a, b)


def test_data_dependent_init_on_constant_columns_keeps_the_scales_finite_and_moderate():
    # Every row alike: each unit's pre-activation is a constant whose float32 spread is
    # rounding; dividing by it made the output weights ~4e7 and the fit diverge.
    net = TabularNetwork(4, [], 1, "identity", hidden=(8,), k=2, activation="mish")
    theta = net.init(_rng(), np.zeros((50, 4), dtype=np.float32))
    views = net.layout.views(theta)
    assert np.abs(views["W_out"]).max() < 100 and np.abs(views["b_out"]).max() < 100
    assert np.isfinite(net.forward(theta, np.zeros((3, 4)))[0]).all()
