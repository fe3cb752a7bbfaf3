r"""Export skdnn's estimators to ONNX with skl2onnx, to serve them with onnxruntime.

Importing this module registers, for :class:`~skdnn.MLPClassifierFromScratch`,
:class:`~skdnn.PerceptronClassifier` and ``MLPRegressorFromScratch``, what skl2onnx needs to
convert them: a shape calculator, a converter and, for the classifiers, scikit-learn's classifier
parser. Then ``skl2onnx.to_onnx(model, X[:1])`` converts the estimators and whole pipelines
that hold them (``StandardScaler``, ``PCA``, ``ColumnTransformer``, ...)::

    import skdnn.onnx  # noqa: F401  (registers the converters)
    from skl2onnx import to_onnx
    onx = to_onnx(pipeline, X[:1].astype(np.float32), options={"zipmap": False})

The classifiers follow skl2onnx's conventions for scikit-learn's classifiers: two outputs,
the labels (strings stay strings) and the probabilities, a list of ``{class: probability}``
dictionaries unless the option ``zipmap`` is ``False`` (or ``"columns"``); ``nocl=True``
gives class indices instead of labels, and ``output_class_labels=True`` adds the list of
classes. The graph computes in float64 when the input is float64 and in float32 otherwise.

:class:`~skdnn.TabNetClassifier`, :class:`~skdnn.TabNetRegressor`,
:class:`~skdnn.TabularMLPClassifier`, :class:`~skdnn.TabularMLPRegressor` and
:class:`~skdnn.ConsensusClassifier` do not export: converting one (or a pipeline that holds
one) raises a ``NotImplementedError`` that names the estimators that do, and what to do
instead (skops or pickle for TabNet and the tabular MLPs; the fitted ``estimator_`` of a
ConsensusClassifier).

Notes
-----
The network is the forward pass of :mod:`skdnn.nn.network`, one ``MatMul`` and ``Add`` per
layer, ``z_l = a_{l-1} W_l + b_l``, with the hidden activation ``a_l = g(z_l)`` as ONNX
operators:

============  =====================================================================
activation    ONNX
============  =====================================================================
identity      none
logistic      ``Sigmoid``
tanh          ``Tanh``
relu          ``Relu``
leaky_relu    ``LeakyRelu`` with ``alpha = negative_slope``
prelu         ``PRelu`` with the learned slopes of the layer (``slopes_[l]``)
elu           ``Elu`` with ``alpha = 1``
gelu          ``Gelu`` (opset 20 on), before it the exact
              :math:`\tfrac12 z \left(1 + \operatorname{erf}(z / \sqrt 2)\right)`
============  =====================================================================

The output layer is ``Softmax`` (multiclass) or ``Sigmoid`` (binary: the probabilities are
``[1 - p, p]``; multilabel: one per label, and the labels are ``p > 1/2``); the regressor's
is the identity, or ``Exp`` with the Poisson loss. The perceptron's probabilities are its
decision ``d`` divided by the temperature ``T``: ``softmax(d / T)``, and
``[1 - sigmoid(d / T), sigmoid(d / T)]`` for two classes, whose label is ``classes_[1]``
where ``d > 0``, as its ``predict`` says.
"""

from __future__ import annotations

import numpy as np
from skl2onnx import update_registered_converter
from skl2onnx._parse import _parse_sklearn_classifier
from skl2onnx.common.data_types import Int64TensorType, guess_proto_type
from skl2onnx.common.shape_calculator import (
    calculate_linear_classifier_output_shapes,
    calculate_linear_regressor_output_shapes,
)
from skl2onnx.common.utils_classifier import get_label_classes
from skl2onnx.proto import onnx_proto

import skdnn

__all__ = ["convert_mlp_classifier", "convert_mlp_regressor", "convert_perceptron",
           "mlp_classifier_shapes", "mlp_regressor_shapes"]


def __dir__():
    # The public API only, not the names imported to write it (np, skdnn, skl2onnx's).
    return list(__all__)


_ONNX_ACTIVATIONS = {"identity": "Identity", "logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
_INT64 = onnx_proto.TensorProto.INT64
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}


class _Graph:
    """Adds nodes and constants to skl2onnx's container, each named uniquely in ``scope``.

    ``dtype`` is the float type the graph computes in: float64 for a float64 input, float32
    otherwise (as skl2onnx's own converters do).
    """

    def __init__(self, scope, operator, container):
        self.scope, self.container = scope, container
        double = guess_proto_type(operator.inputs[0].type) == onnx_proto.TensorProto.DOUBLE
        self.proto = onnx_proto.TensorProto.DOUBLE if double else onnx_proto.TensorProto.FLOAT
        self.dtype = np.float64 if double else np.float32
        self.opset = container.target_opset

    def const(self, value, dtype=None):
        """A constant (initializer) holding ``value``: strings, int64, else the float type."""
        value = np.asarray(value)
        if value.dtype.kind in "US":
            proto, value = onnx_proto.TensorProto.STRING, np.char.encode(value.astype(str))
        elif dtype == np.int64:
            proto, value = _INT64, value.astype(np.int64)
        else:
            proto, value = self.proto, value.astype(self.dtype)
        name = self.scope.get_unique_variable_name("const")
        self.container.add_initializer(name, proto, list(value.shape), value.ravel().tolist())
        return name

    def op(self, op_type, *inputs, output=None, domain="", **attrs):
        """Add one ``op_type`` node; return its output's name (``output`` if given)."""
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(op_type, list(inputs), output, op_domain=domain,
                                name=self.scope.get_unique_operator_name(op_type), **attrs)
        return output

    def input(self, operator):
        """The operator's input, cast to the graph's float type (ints and booleans too)."""
        return self.op("Cast", operator.inputs[0].full_name, to=self.proto)

    def affine(self, x, W, b):
        """``x @ W + b``."""
        return self.op("Add", self.op("MatMul", x, self.const(W)), self.const(b))


# -- the network -------------------------------------------------------------------------------
def _hidden_activation(graph, z, name, layer, model):
    """ONNX nodes of hidden activation ``name`` on ``z``, the ``layer``-th hidden layer."""
    if name in _ONNX_ACTIVATIONS:
        return graph.op(_ONNX_ACTIVATIONS[name], z)
    single = graph.dtype == np.float32
    if name in ("leaky_relu", "prelu"):
        slope = _spec(model)["negative_slope"] if name == "leaky_relu" else model.slopes_[layer]
        if single and name == "leaky_relu":
            return graph.op("LeakyRelu", z, alpha=float(slope))
        if single:
            return graph.op("PRelu", z, graph.const(slope))
        # onnxruntime has neither in float64: max(z, 0) + slope * min(z, 0).
        negative = graph.op("Mul", graph.const(slope), graph.op("Min", z, graph.const(0.0)))
        return graph.op("Add", graph.op("Relu", z), negative)
    if name == "elu" and single:
        return graph.op("Elu", z, alpha=1.0)
    if name == "elu":  # no float64 Elu in onnxruntime: exp(min(z, 0)) - 1 where z <= 0
        below = graph.op("Sub", graph.op("Exp", graph.op("Min", z, graph.const(0.0))),
                         graph.const(1.0))
        return graph.op("Where", graph.op("Greater", z, graph.const(0.0)), z, below)
    if name == "gelu" and single and graph.opset >= 20:
        return graph.op("Gelu", z, approximate="none")
    if name == "gelu":  # the exact form z Phi(z), as the engine computes it
        return graph.op("Mul", graph.op("Mul", z, graph.const(0.5)),
                        graph.op("Add", graph.const(1.0), _erf(graph, z, 1 / np.sqrt(2.0))))
    raise ValueError(f"No ONNX form of the activation {name!r}.")


def _erf(graph, z, scale):
    """``erf(scale * z)``; in float32 even in a float64 graph (onnxruntime has no float64 Erf)."""
    x = graph.op("Mul", z, graph.const(scale))
    if graph.dtype == np.float32:
        return graph.op("Erf", x)
    erf = graph.op("Erf", graph.op("Cast", x, to=onnx_proto.TensorProto.FLOAT))
    return graph.op("Cast", erf, to=graph.proto)


def _spec(model):
    """The hidden activation and negative slope the fitted network was built with.

    A fine-tuned network keeps its pretrained model's (``_hidden_spec``), not its own
    ``activation`` parameter.
    """
    return getattr(model, "_hidden_spec", None) or {
        "activation": model.activation, "negative_slope": getattr(model, "negative_slope", 0.01)}


def _network_output(graph, x, model):
    """The output layer's values: probabilities, or the regressor's predictions."""
    name = _spec(model)["activation"]
    n_layers = len(model.coefs_)
    for layer, (W, b) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        x = graph.affine(x, W, b)
        if layer < n_layers - 1:
            x = _hidden_activation(graph, x, name, layer, model)
    if model.out_activation_ == "softmax":
        return graph.op("Softmax", x, axis=-1)
    if model.out_activation_ == "logistic":
        return graph.op("Sigmoid", x)
    if model.out_activation_ == "exp":  # the regressor with the Poisson loss
        return graph.op("Exp", x)
    return x


# -- classifier outputs: probabilities and labels ----------------------------------------------
def _two_columns(graph, p, output):
    """``[1 - p, p]`` for the probability ``p`` of shape (N, 1) of the second class."""
    return graph.op("Concat", graph.op("Sub", graph.const(1.0), p), p, output=output, axis=1)


def _labels(graph, scope, operator, index):
    """Write the labels of the class indices ``index`` (shape (N,)) to the first output."""
    classes = np.asarray(get_label_classes(scope, operator.raw_operator))  # nocl: 0 .. k - 1
    strings = all(isinstance(label, str) for label in classes)  # else integers, as skl2onnx
    table = graph.const(classes.astype(str) if strings else classes, dtype=np.int64)
    labels = graph.op("ArrayFeatureExtractor", table, index, domain="ai.onnx.ml")
    graph.op("Reshape", labels, graph.const([-1], dtype=np.int64),
             output=operator.outputs[0].full_name)


def convert_mlp_classifier(scope, operator, container):
    """Convert :class:`~skdnn.MLPClassifierFromScratch` for skl2onnx: labels, probabilities.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names to the graph's nodes and constants.
    operator : skl2onnx.common._topology.Operator
        The estimator (``operator.raw_operator``), its input and its outputs.
    container : skl2onnx.common._container.ModelComponentContainer
        Receives the nodes.
    """
    model, graph = operator.raw_operator, _Graph(scope, operator, container)
    proba_name = operator.outputs[1].full_name
    p = _network_output(graph, graph.input(operator), model)
    if _is_multilabel(model):  # labels p > 1/2, one column per label
        graph.op("Identity", p, output=proba_name)
        graph.op("Cast", graph.op("Greater", p, graph.const(0.5)),
                 output=operator.outputs[0].full_name, to=_INT64)
        return
    if model.n_outputs_ == 1:
        _two_columns(graph, p, proba_name)
    else:
        graph.op("Identity", p, output=proba_name)
    _labels(graph, scope, operator, graph.op("ArgMax", proba_name, axis=1, keepdims=0))


def convert_perceptron(scope, operator, container):
    """Convert :class:`~skdnn.PerceptronClassifier` for skl2onnx: labels, probabilities.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names to the graph's nodes and constants.
    operator : skl2onnx.common._topology.Operator
        The estimator (``operator.raw_operator``), its input and its outputs.
    container : skl2onnx.common._container.ModelComponentContainer
        Receives the nodes.
    """
    model, graph = operator.raw_operator, _Graph(scope, operator, container)
    d = graph.affine(graph.input(operator), model.coef_.T, model.intercept_)
    logits = graph.op("Div", d, graph.const(model.temperature_))
    if len(model.classes_) == 2:  # classes_[1] where d > 0, as predict's step [d > 0]
        _two_columns(graph, graph.op("Sigmoid", logits), operator.outputs[1].full_name)
        index = graph.op("Cast", graph.op("Greater", d, graph.const(0.0)), to=_INT64)
    else:
        graph.op("Softmax", logits, output=operator.outputs[1].full_name, axis=-1)
        index = graph.op("ArgMax", d, axis=1, keepdims=0)
    _labels(graph, scope, operator, graph.op("Reshape", index, graph.const([-1], dtype=np.int64)))


def convert_mlp_regressor(scope, operator, container):
    """Convert :class:`~skdnn.MLPRegressorFromScratch` for skl2onnx: predictions.

    The predictions have shape ``(N, n_outputs_)``.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names to the graph's nodes and constants.
    operator : skl2onnx.common._topology.Operator
        The estimator (``operator.raw_operator``), its input and its outputs.
    container : skl2onnx.common._container.ModelComponentContainer
        Receives the nodes.
    """
    model, graph = operator.raw_operator, _Graph(scope, operator, container)
    y = _network_output(graph, graph.input(operator), model)
    graph.op("Identity", y, output=operator.outputs[0].full_name)


# -- shapes --------------------------------------------------------------------------------------
def _is_multilabel(model):
    return model.out_activation_ == "logistic" and model.n_outputs_ > 1


def _check_one_input(operator):
    """A ValueError, rather than skl2onnx's count of inputs, for the columns of a DataFrame."""
    if len(operator.inputs) != 1:
        names = [variable.onnx_name for variable in operator.inputs]
        raise ValueError(
            f"{type(operator.raw_operator).__name__} takes one input tensor; got "
            f"{len(names)}, {names}: a pandas DataFrame gives to_onnx one input per column. "
            "Pass one float32 array, X[:1].to_numpy(dtype=np.float32) (pandas' float64 "
            "columns would make a float64 graph), or a pipeline whose first step takes "
            "the columns (a ColumnTransformer).")


def mlp_classifier_shapes(operator):
    """Set the output types of a classifier, as skl2onnx's classifiers have them.

    Multilabel: labels of shape ``(N, n_labels)``.

    Parameters
    ----------
    operator : skl2onnx.common._topology.Operator
        The estimator (``operator.raw_operator``), its input and its outputs, whose types
        this sets.
    """
    _check_one_input(operator)
    calculate_linear_classifier_output_shapes(operator)
    if _is_multilabel(operator.raw_operator):
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = Int64TensorType([n_rows, operator.raw_operator.n_outputs_])


def _perceptron_shapes(operator):
    """Output types as skl2onnx's linear classifiers."""
    _check_one_input(operator)
    calculate_linear_classifier_output_shapes(operator)


def mlp_regressor_shapes(operator):
    """Set the output type of a regressor: predictions of shape ``(N, n_outputs_)``.

    They have the input's float type.

    Parameters
    ----------
    operator : skl2onnx.common._topology.Operator
        The estimator (``operator.raw_operator``), its input and its outputs, whose types
        this sets.
    """
    _check_one_input(operator)
    calculate_linear_regressor_output_shapes(operator)
    operator.outputs[0].type.shape = [operator.inputs[0].get_first_dimension(),
                                      operator.raw_operator.n_outputs_]


#: The estimators that export, and for those that do not, what to do instead.
_EXPORTED = ("MLPClassifierFromScratch", "MLPRegressorFromScratch", "PerceptronClassifier")
_TABNET = ("its attentive masks (sparsemax, entmax) and ghost batch norm have no ONNX "
           "converter; save it with skops or pickle to serve it from Python "
           "(docs/persistence.md)")
_TABULAR = ("its preprocessing of raw columns (text, categories, missing values), its "
            "numerical embeddings and its ensemble have no ONNX converter; save it with skops "
            "or pickle to serve it from Python (docs/persistence.md)")
_NOT_EXPORTED = {
    "TabNetClassifier": _TABNET,
    "TabNetRegressor": _TABNET,
    "TabularMLPClassifier": _TABULAR,
    "TabularMLPRegressor": _TABULAR,
    "ConsensusClassifier": "export its fitted estimator_, the classifier it predicts with: "
                           "to_onnx(model.estimator_, X[:1])",
}


def _refuse(model):
    name = type(model).__name__
    raise NotImplementedError(
        f"skdnn.onnx exports {', '.join(_EXPORTED[:-1])} and {_EXPORTED[-1]} (and pipelines "
        f"that hold them), not {name}: {_NOT_EXPORTED[name]}.")


def _refuse_to_parse(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser for an estimator without a converter: a clear error, at once."""
    _refuse(model)


def _refuse_shapes(operator):
    _refuse(operator.raw_operator)


def _refuse_to_convert(scope, operator, container):
    _refuse(operator.raw_operator)


def _register():
    for name in _NOT_EXPORTED:
        # The parser raises before skl2onnx calls the shape calculator or the converter.
        update_registered_converter(getattr(skdnn, name), f"Skdnn{name}", _refuse_shapes,
                                    _refuse_to_convert, parser=_refuse_to_parse)
    update_registered_converter(
        skdnn.MLPClassifierFromScratch, "SkdnnMLPClassifierFromScratch", mlp_classifier_shapes,
        convert_mlp_classifier, parser=_parse_sklearn_classifier, options=_CLASSIFIER_OPTIONS)
    update_registered_converter(
        skdnn.PerceptronClassifier, "SkdnnPerceptronClassifier", _perceptron_shapes,
        convert_perceptron,
        parser=_parse_sklearn_classifier, options=_CLASSIFIER_OPTIONS)
    regressor = getattr(skdnn, "MLPRegressorFromScratch", None)
    if regressor is not None:
        update_registered_converter(regressor, "SkdnnMLPRegressorFromScratch",
                                    mlp_regressor_shapes, convert_mlp_regressor)


_register()
