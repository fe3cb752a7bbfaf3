"""skdnn.plot.AttributionDisplay: both methods on a tabular pipeline, and drawing what one has."""

import warnings

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdnn import MLPClassifierFromScratch
from skdnn.explain import explain_lime, integrated_gradients
from skdnn.plot import AttributionDisplay

pd = pytest.importorskip("pandas")
matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("lime")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({"region": rng.choice(["west", "east"], size=n),
                      "age": rng.normal(40, 12, size=n), "score": rng.normal(size=n),
                      "noise": rng.normal(size=n)})
    signal = (X["region"] == "west") + X["score"] - (X["age"] - 40) / 12
    y = np.where(signal + rng.normal(size=n) > 0.8, "churn", "stay")
    pipeline = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(), ["region"]),
                           ("num", StandardScaler(), ["age", "score", "noise"])]),
        MLPClassifierFromScratch((8,), activation="tanh", solver="lbfgs", max_iter=40,
                                 alpha=1.0, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y)
    yield pipeline, X
    import matplotlib.pyplot as plt

    plt.close("all")


def _bars(display):
    """(name, width) of the bars, top first."""
    names = [label.get_text() for label in display.ax_.get_yticklabels()]
    return list(zip(names, [bar.get_width() for bar in display.bars_], strict=True))[::-1]


def test_integrated_gradients_display_sorts_signed_bars_and_titles_the_sum(tabular):
    pipeline, X = tabular
    # A row whose largest attribution is negative and whose smaller ones are positive.
    all_rows = integrated_gradients(pipeline, X.iloc[:40], X_train=X, target="churn")
    row = (all_rows.abs().idxmax(axis=1) == "age") & (all_rows["age"] < 0) & (
        all_rows.drop(columns="age") > 0).any(axis=1)
    x = X.loc[[row.idxmax()]]
    assert row.any()
    display = AttributionDisplay.from_estimator(pipeline, X, x, target="churn")
    expected = integrated_gradients(pipeline, x, X_train=X, target="churn").iloc[0]
    bars = _bars(display)
    assert dict(bars) == pytest.approx(expected.to_dict(), abs=1e-12)
    widths = [width for _, width in bars]
    assert widths == sorted(widths, key=abs, reverse=True)
    positive = {bar.get_facecolor() for bar in display.bars_ if bar.get_width() > 0}
    negative = {bar.get_facecolor() for bar in display.bars_ if bar.get_width() < 0}
    assert len(positive) == len(negative) == 1 and positive != negative
    p_x = pipeline.predict_proba(x)[0, 0]
    title = display.ax_.get_title()
    assert title.splitlines()[0] == "Integrated gradients of P(churn)"
    assert f"sum {expected.sum():+.3f} = P(x) {p_x:.3f} - P(baseline)" in title
    p_b = float(title.rsplit(" ", 1)[1])
    assert expected.sum() == pytest.approx(p_x - p_b, abs=2e-3)  # rounded to 3 decimals
    assert display.figure_ is display.ax_.figure


def test_lime_display_shows_the_local_fit_and_the_explained_class(tabular):
    pipeline, X = tabular
    x = X.iloc[[5]]
    display = AttributionDisplay.from_estimator(pipeline, X, x, method="lime", max_features=3,
                                                num_samples=300, random_state=0)
    predicted = pipeline.predict(x)[0]
    column = list(pipeline.classes_).index(predicted)
    exp = explain_lime(pipeline, X, x, num_features=3, num_samples=300, random_state=0,
                       labels=(column,))
    assert _bars(display) == exp.as_list(label=column)
    title = display.ax_.get_title()
    assert title == f"LIME weights for P({predicted})\nlocal fit R² = {exp.score:.2f}"


def test_from_explanation_draws_a_row_the_user_already_has(tabular):
    pipeline, X = tabular
    row = integrated_gradients(pipeline, X.iloc[:2], X_train=X).iloc[[1]]
    display = AttributionDisplay.from_explanation(row, max_features=2)
    assert [name for name, _ in _bars(display)] == list(
        row.iloc[0].abs().sort_values(ascending=False).index[:2])
    assert "2 largest of 4; sum" in display.ax_.get_title()
    plain = AttributionDisplay.from_explanation(np.array([0.5, -1.0]))
    assert _bars(plain) == [("x1", -1.0), ("x0", 0.5)]
    assert _bars(AttributionDisplay.from_explanation([0.5, -1.0])) == _bars(plain)  # a list


def test_attribution_display_rejects_an_unknown_method(tabular):
    pipeline, X = tabular
    with pytest.raises(ValueError, match="method must be 'integrated_gradients' or 'lime'"):
        AttributionDisplay.from_estimator(pipeline, X, X.iloc[[0]], method="shap")


def test_both_methods_draw_a_regressor_in_its_prediction(tabular):
    from skdnn import MLPRegressorFromScratch

    _, X = tabular
    y = (X["region"] == "west") + np.tanh(X["score"])
    regressor = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(), ["region"]),
                           ("num", StandardScaler(), ["age", "score", "noise"])]),
        MLPRegressorFromScratch((8,), activation="tanh", solver="lbfgs", max_iter=40,
                                random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X, y)
    x = X.iloc[[2]]
    display = AttributionDisplay.from_estimator(regressor, X, x)
    f_x = regressor.predict(x)[0]
    title = display.ax_.get_title()
    assert title.startswith("Integrated gradients of the prediction\n")
    assert f"= f(x) {f_x:.3f} - f(baseline)" in title
    lime = AttributionDisplay.from_estimator(regressor, X, x, method="lime", num_samples=200,
                                             random_state=0)
    assert lime.ax_.get_title().startswith("LIME weights for the prediction\nlocal fit R² = ")
    assert len(lime.bars_) == 4


def test_lime_weights_agree_in_every_output_on_a_binary_problem(tabular):
    # On a row predicted as class column 0, LIME's own default label (1) would flip every sign.
    from skdnn.explain import explanation_stability, format_explanation

    pipeline, X = tabular
    predicted = pipeline.predict(X)
    x = X.iloc[[int(np.flatnonzero(predicted == pipeline.classes_[0])[0])]]
    name = str(pipeline.classes_[0])
    kwargs = dict(num_features=3, num_samples=500, random_state=0)
    exp = explain_lime(pipeline, X, x, **kwargs)
    weights = exp.as_list()
    assert exp.available_labels()[0] == 0 and weights == exp.as_list(label=0)
    assert weights != exp.as_list(label=1)
    lines = format_explanation(exp, top=3).splitlines()
    assert lines[0].startswith(f"Predicted {name!r}")
    assert lines[2:] == [f"  {weight:+.3f}  {rule}" for rule, weight in weights]
    assert _bars(AttributionDisplay.from_explanation(exp)) == weights
    assert _bars(AttributionDisplay.from_estimator(pipeline, X, x, method="lime",
                                                   max_features=3, num_samples=500,
                                                   random_state=0)) == weights
    table = explanation_stability(pipeline, X, x, n_repeats=2, **kwargs)
    top = weights[0][0].split(" ")[0].split("=")[0]  # "region=west" or "age <= 30.1"
    assert np.sign(table.loc[top, "mean_weight"]) == np.sign(weights[0][1])
    assert table.attrs["label"] == 0
    assert f"LIME weights of P({name!r})" in str(table)  # printed with the table


@pytest.mark.parametrize(
    "explanation, error, match",
    [
        (None, TypeError, "needs a LIME explanation .* or one row of attributions.*got NoneType"),
        ("age", TypeError, "got str"),
        ({"age": 1.0}, TypeError, "got dict"),
        ([], ValueError, r"got an array of shape \(0,\)"),
        (np.ones((2, 3)), ValueError, r"got an array of shape \(2, 3\)"),
        (pd.DataFrame(np.ones((2, 3))), ValueError, "got a DataFrame of 2 rows"),
        ([0.1, np.nan], ValueError, "contain NaN or infinity"),
    ],
    ids=["none", "str", "dict", "empty", "two-rows", "two-row-frame", "nan"],
)
def test_from_explanation_refuses_what_is_no_explanation(explanation, error, match):
    with pytest.raises(error, match=match):
        AttributionDisplay.from_explanation(explanation)
