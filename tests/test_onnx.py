"""skdnn.onnx: skdnn's estimators exported with skl2onnx give onnxruntime the same answers."""

import functools

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skdnn
from skdnn import MLPClassifierFromScratch, PerceptronClassifier
from skdnn.nn.activations import HIDDEN_ACTIVATIONS

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
skdnn_onnx = pytest.importorskip("skdnn.onnx")
numpy_helper = pytest.importorskip("onnx.numpy_helper")

# Short fits on purpose: what is compared is the exported network, not how well it learned.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# The binary and multiclass data the pipelines learn: 8 features, 150 samples.
DATA = {n_classes: make_classification(150, 8, n_informative=5, n_classes=n_classes,
                                       random_state=n_classes)
        for n_classes in (2, 3)}


def _run(onx, X):
    """All outputs of the ONNX model on ``X``, computed by onnxruntime."""
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


@functools.cache
def _mlp_pipeline(activation, n_classes):
    """``StandardScaler -> PCA -> MLP`` with two hidden layers, fitted on ``DATA[n_classes]``.

    Cached: several tests export the same fitted pipeline (none of them changes it).
    """
    X, y = DATA[n_classes]
    mlp = MLPClassifierFromScratch(hidden_layer_sizes=(7, 5), activation=activation,
                                   negative_slope=0.2, max_iter=60, random_state=0)
    return make_pipeline(StandardScaler(), PCA(n_components=5), mlp).fit(X, y), X


def _assert_same_answers(model, onx, X, atol):
    labels, proba = _run(onx, X)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=atol)
    np.testing.assert_array_equal(labels, model.predict(X))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_mlp_pipeline_in_float32_gives_predict_proba_and_predict(activation, n_classes):
    model, X = _mlp_pipeline(activation, n_classes)
    X = X.astype(np.float32)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    _assert_same_answers(model, onx, X, atol=1e-5)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_mlp_pipeline_in_float64_computes_in_float64(activation):
    model, X = _mlp_pipeline(activation, 3)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    # onnxruntime has no float64 Erf: the graph takes it in float32, so GELU is less exact.
    _assert_same_answers(model, onx, X, atol=1e-6 if activation == "gelu" else 1e-12)


@pytest.mark.parametrize(("opset", "node"), [(17, "Erf"), (20, "Gelu")])
def test_gelu_is_the_gelu_operator_from_opset_20_and_the_erf_form_before(opset, node):
    model, X = _mlp_pipeline("gelu", 3)
    X = X.astype(np.float32)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}, target_opset=opset)
    assert node in {n.op_type for n in onx.graph.node}
    _assert_same_answers(model, onx, X, atol=1e-5)


@pytest.mark.parametrize(("activation", "operator"),
                         [("leaky_relu", "LeakyRelu"), ("prelu", "PRelu"), ("elu", "Elu")])
def test_activations_use_their_onnx_operator_in_float32(activation, operator):
    model, X = _mlp_pipeline(activation, 2)
    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False})
    assert operator in {n.op_type for n in onx.graph.node}


def test_prelu_uses_each_layers_learned_slopes():
    model, X = _mlp_pipeline("prelu", 3)
    slopes = model[-1].slopes_
    assert not np.allclose(slopes[0][0], slopes[0][1:])  # trained apart from 0.25
    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False})
    constants = {init.name: numpy_helper.to_array(init) for init in onx.graph.initializer}
    prelu_slopes = [constants[n.input[1]] for n in onx.graph.node if n.op_type == "PRelu"]
    assert len(prelu_slopes) == 2
    for ours, theirs in zip(prelu_slopes, slopes, strict=True):
        np.testing.assert_array_equal(ours, theirs.astype(np.float32))


@pytest.mark.parametrize("estimator", ["mlp", "perceptron"])
def test_string_labels_come_out_as_strings(estimator):
    X, y = DATA[3]
    names = np.array(["cat", "dog", "emu"])[y]
    model = (PerceptronClassifier(random_state=0) if estimator == "perceptron"
             else MLPClassifierFromScratch(hidden_layer_sizes=(5,), max_iter=30, random_state=0))
    model.fit(X, names)
    labels, _ = _run(skl2onnx.to_onnx(model, X[:1].astype(np.float32),
                                      options={"zipmap": False}), X.astype(np.float32))
    assert labels.dtype.kind in "OU" and isinstance(labels[0], str)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_classifier_options_zipmap_nocl_and_output_class_labels_work_as_for_sklearn():
    X, y = DATA[3]
    model = MLPClassifierFromScratch(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    model.fit(X, np.array(["cat", "dog", "emu"])[y])
    X = X.astype(np.float32)
    _, rows = _run(skl2onnx.to_onnx(model, X[:1]), X)  # zipmap is skl2onnx's default
    proba = np.array([[row[label] for label in model.classes_] for row in rows])
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    labels, _ = _run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False, "nocl": True}), X)
    np.testing.assert_array_equal(labels, np.searchsorted(model.classes_, model.predict(X)))
    options = {"zipmap": False, "output_class_labels": True}
    *_, classes = _run(skl2onnx.to_onnx(model, X[:1], options=options), X)
    np.testing.assert_array_equal(classes, model.classes_)


def test_multilabel_labels_are_one_column_per_label():
    X, Y = make_multilabel_classification(100, 6, n_classes=3, random_state=0)
    model = MLPClassifierFromScratch(hidden_layer_sizes=(6,), max_iter=40, random_state=0)
    model.fit(X, Y)
    X = X.astype(np.float32)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    _assert_same_answers(model, onx, X, atol=1e-5)


def test_column_transformer_with_one_hot_encoder_converts_whole():
    X, y = DATA[3]
    X = X.copy()
    X[:, -1] = np.random.default_rng(0).integers(0, 4, len(X))  # a categorical column
    columns = ColumnTransformer([("num", StandardScaler(), list(range(7))),
                                 ("cat", OneHotEncoder(), [7])])
    mlp = MLPClassifierFromScratch(hidden_layer_sizes=(6,), max_iter=40, random_state=0)
    model = make_pipeline(columns, mlp).fit(X, y)
    X = X.astype(np.float32)
    _assert_same_answers(model, skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X,
                         atol=1e-5)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_perceptron_pipeline_gives_temperature_scaled_probabilities(n_classes, dtype):
    X, y = DATA[n_classes]
    model = make_pipeline(StandardScaler(), PCA(n_components=5),
                          PerceptronClassifier(random_state=0)).fit(X, y)
    X = X.astype(dtype)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    _assert_same_answers(model, onx, X, atol=1e-5 if dtype == np.float32 else 1e-12)


def test_perceptron_labels_on_the_boundary_are_predicts():
    # At d = 0 the two probabilities tie; the label must follow predict's step, not a tie rule.
    X, y = DATA[2]
    model = PerceptronClassifier(random_state=0).fit(X, y)
    model.intercept_[:] = 0
    zeros = np.zeros((3, X.shape[1]), dtype=np.float32)
    assert (model.decision_function(zeros) == 0).all()
    _assert_same_answers(model, skl2onnx.to_onnx(model, zeros[:1], options={"zipmap": False}),
                         zeros, atol=1e-5)


def _regressor_answers(model, X):
    (prediction,) = _run(skl2onnx.to_onnx(model, X[:1]), X)
    return prediction, model.predict(X).reshape(len(X), -1)


class _SklearnNamedRegressor(MLPRegressor):
    """scikit-learn's MLPRegressor through skdnn's regressor converter: the same attributes."""


@pytest.mark.parametrize(("n_targets", "loss"), [(1, "squared_error"), (2, "squared_error"),
                                                 (1, "poisson")])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_regressor_converter_reads_scikit_learns_attributes(activation, n_targets, loss):
    skl2onnx.update_registered_converter(
        _SklearnNamedRegressor, "TestSklearnNamedRegressor",
        skdnn_onnx.mlp_regressor_shapes, skdnn_onnx.convert_mlp_regressor)
    X, y = make_regression(120, 6, n_targets=n_targets, random_state=0)
    model = _SklearnNamedRegressor(hidden_layer_sizes=(7, 5), activation=activation, loss=loss,
                                   max_iter=50, random_state=0)
    model.fit(X, np.abs(y) / 100)  # Poisson needs targets >= 0
    ours, theirs = _regressor_answers(model, X.astype(np.float32))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("activation", "loss"), [
    *[(activation, "squared_error") for activation in HIDDEN_ACTIVATIONS], ("tanh", "poisson")])
def test_regressor_pipeline_gives_predict(activation, loss):
    X, y = make_regression(120, 8, random_state=0)
    model = make_pipeline(StandardScaler(), PCA(n_components=5), skdnn.MLPRegressorFromScratch(
        hidden_layer_sizes=(7, 5), activation=activation, loss=loss, max_iter=60,
        random_state=0))
    model.fit(X, np.abs(y) / 100)  # Poisson needs targets >= 0
    ours, theirs = _regressor_answers(model, X.astype(np.float32))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_fine_tuned_network_exports_its_pretrained_activation():
    # The hidden layers, and their activation, come from the pretrained model; the fine-tuned
    # estimator's own activation parameter (relu by default) is not what it computes.
    X, y = DATA[3]
    base = MLPClassifierFromScratch(hidden_layer_sizes=(6,), activation="leaky_relu",
                                    negative_slope=0.3, max_iter=30, random_state=0).fit(X, y)
    tuned = MLPClassifierFromScratch(pretrained=base, n_frozen_layers=1, max_iter=30,
                                     random_state=0).fit(X, y)
    X = X.astype(np.float32)
    _assert_same_answers(tuned, skl2onnx.to_onnx(tuned, X[:1], options={"zipmap": False}), X,
                         atol=1e-5)


@pytest.mark.parametrize("estimator", [
    MLPClassifierFromScratch(hidden_layer_sizes=(4,), max_iter=5, random_state=0),
    skdnn.MLPRegressorFromScratch(hidden_layer_sizes=(4,), max_iter=5, random_state=0),
    PerceptronClassifier(max_iter=5),
], ids=lambda est: type(est).__name__)
def test_a_dataframe_passed_to_the_estimator_says_to_give_one_float32_array(estimator):
    pd = pytest.importorskip("pandas")
    X, y = DATA[2]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])  # float64 columns
    model = estimator.fit(frame, y)
    with pytest.raises(ValueError, match=r"one input per column.*to_numpy\(dtype=np.float32\)"):
        skl2onnx.to_onnx(model, frame[:1])
    # What the error says to do: one float32 input "X", float32 probabilities.
    regressor = isinstance(model, skdnn.MLPRegressorFromScratch)
    onx = skl2onnx.to_onnx(model, frame[:1].to_numpy(dtype=np.float32),
                           options=None if regressor else {"zipmap": False})
    outputs = _run(onx, frame.to_numpy(dtype=np.float32))
    np.testing.assert_allclose(np.squeeze(outputs[-1]),
                               model.predict(frame) if regressor else model.predict_proba(frame),
                               atol=1e-5)


# -- What does not export says so, and the module shows its public API only --------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator, advice", [
    (skdnn.TabNetClassifier(n_steps=1, max_iter=2), "save it with skops or pickle"),
    (make_pipeline(StandardScaler(), skdnn.TabNetRegressor(n_steps=1, max_iter=2)),
     "save it with skops or pickle"),
    (skdnn.ConsensusClassifier(PerceptronClassifier()), r"to_onnx\(model.estimator_"),
], ids=["TabNetClassifier", "pipeline-TabNetRegressor", "ConsensusClassifier"])
def test_an_estimator_without_a_converter_names_those_that_export(estimator, advice):
    X, y = DATA[2]
    if is_regressor(estimator):
        y = y.astype(float)
    model = estimator.fit(X.astype(np.float32), y)
    name = type(model[-1] if hasattr(model, "steps") else model).__name__
    with pytest.raises(NotImplementedError, match=(
            r"skdnn.onnx exports MLPClassifierFromScratch, MLPRegressorFromScratch and "
            rf"PerceptronClassifier \(and pipelines that hold them\), not {name}: .*{advice}")):
        skl2onnx.to_onnx(model, X[:1].astype(np.float32))


def test_the_consensus_classifiers_estimator_exports_as_its_error_says():
    X, y = DATA[3]
    X = X.astype(np.float32)
    model = skdnn.ConsensusClassifier(PerceptronClassifier(random_state=0),
                                      random_state=0).fit(X, y)
    onx = skl2onnx.to_onnx(model.estimator_, X[:1], options={"zipmap": False})
    _assert_same_answers(model, onx, X, atol=1e-5)


def test_dir_of_the_module_lists_its_public_api_only():
    assert dir(skdnn_onnx) == list(skdnn_onnx.__all__)
    assert not {"np", "skdnn", "onnx_proto", "update_registered_converter"} & set(
        dir(skdnn_onnx))
