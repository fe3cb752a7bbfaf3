"""The preprocessing fitted inside the tabular networks (skdnn/_tabular_prep.py, issue 30)."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdnn._tabular_prep import (
    SMOOTH_CLIP,
    TabularPreprocessor,
    clip_to_range,
    smooth_clip,
    standardise_target,
    target_range,
)

pd = pytest.importorskip("pandas")


def _realmlp(x, median, q25, q75):
    """RealMLP-TD's recipe, written out: (x - median) / IQR, then x / sqrt(1 + (x / 3)^2)."""
    z = (x - median) / (q75 - q25)
    return z / np.sqrt(1 + (z / 3) ** 2)


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.lognormal(10, 1.5, n),
        "age": rng.integers(18, 90, n).astype(float),
        "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune"], n), dtype="str"),
        "shop": pd.Series(rng.choice([f"s{k:02d}" for k in range(20)], n), dtype="category"),
        "member": rng.random(n) < 0.3,
    })


@parametrize_with_checks([TabularPreprocessor(), TabularPreprocessor(numeric="quantile")])
def test_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


# -- numeric columns ---------------------------------------------------------------------------
def test_robust_output_is_realmlps_median_iqr_scaling_then_smooth_clip():
    X = _frame()
    out = TabularPreprocessor().fit_transform(X)
    for k, column in enumerate(["income", "age"]):
        x = X[column].to_numpy()
        q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75])
        np.testing.assert_allclose(out[:, k], _realmlp(x, median, q25, q75), rtol=1e-6,
                                   atol=1e-6)
        if column == "income":  # the heavy tail, beyond the bound, is clipped smoothly
            assert np.max((x - median) / (q75 - q25)) > 2 * SMOOTH_CLIP
            assert 2.5 < out[:, k].max() < SMOOTH_CLIP


def test_robust_scale_falls_back_to_half_the_range_then_to_zero():
    # three quarters of the values equal: the interquartile range is 0
    x = np.r_[np.zeros(35), np.arange(1.0, 11.0)]
    X = np.column_stack([x, np.full_like(x, 7.0)])
    prep = TabularPreprocessor().fit(X)
    np.testing.assert_allclose(prep.scale_, [1 / 5.0, 0.0])  # 0.5 * (10 - 0); constant: 0
    out = prep.transform(X)
    np.testing.assert_allclose(out[:, 0], smooth_clip(x / 5.0), rtol=1e-6)
    assert np.all(out[:, 1] == 0)


def test_smooth_clip_is_its_formula_and_finite_for_huge_values():
    x = np.array([-50.0, -3.0, -0.1, 0.0, 0.5, 3.0, 1e3])
    np.testing.assert_allclose(smooth_clip(x), x / np.sqrt(1 + (x / 3) ** 2), rtol=1e-12)
    huge = smooth_clip(np.array([-np.inf, -1e300, 1e300, np.inf]))
    np.testing.assert_allclose(huge, [-3, -3, 3, 3])


def test_quantile_output_is_scikit_learns_normal_quantile_transform():
    rng = np.random.default_rng(1)
    train = np.column_stack([rng.exponential(size=400), rng.integers(0, 6, 400)])
    test = np.vstack([np.column_stack([rng.exponential(size=50), rng.integers(-2, 9, 50)]),
                      [[-5.0, 100.0], [1e6, -1e6]]])  # beyond the training range
    prep = TabularPreprocessor(numeric="quantile").fit(train)
    reference = QuantileTransformer(n_quantiles=400, output_distribution="normal").fit(train)
    np.testing.assert_allclose(prep.transform(test), reference.transform(test), atol=1e-5)
    assert isinstance(prep.quantiles_, np.ndarray) and prep.quantiles_.shape == (400, 2)


def test_quantile_maps_a_constant_column_and_missing_values_to_zero():
    X = np.array([[1.0, 5.0], [2.0, 5.0], [np.nan, 5.0], [4.0, 5.0]])
    out = TabularPreprocessor(numeric="quantile").fit_transform(X)
    assert np.all(out[:, 1] == 0) and out[2, 0] == 0
    assert out[2, 2] == 1  # the indicator of the missing value


# -- missing values ----------------------------------------------------------------------------
@pytest.mark.parametrize("missing", [np.nan, None, "NA"])
def test_a_numeric_column_with_missing_values_gets_an_indicator_and_its_median(missing):
    values = [1.0, 2.0, 3.0, 10.0, 4.0]
    X = pd.DataFrame({"a": values, "b": values})
    X["b"] = X["b"].astype(object)
    X.loc[2, "b"] = pd.NA if missing == "NA" else missing
    prep = TabularPreprocessor().fit(X)
    out = prep.transform(X)
    assert prep.missing_columns_ == [1] and out.shape == (5, 3)
    np.testing.assert_array_equal(out[:, 2], [0, 0, 1, 0, 0])
    assert out[2, 1] == 0  # the centre: the median of the values seen
    assert prep.center_[1] == np.median([1.0, 2.0, 10.0, 4.0])
    np.testing.assert_array_equal(prep.groups_, [0, 1, 1])


def test_missing_values_at_transform_in_a_column_without_any_in_fit_are_filled():
    X = _frame()
    prep = TabularPreprocessor().fit(X)
    new = X.head(3).copy()
    new.loc[1, "income"] = np.nan
    out = prep.transform(new)
    assert out.shape == (3, prep.groups_.size)  # no indicator appears
    assert out[1, 0] == 0 and np.isfinite(out).all()


# -- categorical columns -----------------------------------------------------------------------
def test_few_levels_are_one_hot_many_are_codes_and_binary_is_one_signed_column():
    X = _frame()
    prep = TabularPreprocessor().fit(X)
    assert prep.kinds_ == ["numeric", "numeric", "categorical", "categorical", "categorical"]
    assert prep.encodings_ == ["one_hot", "embedding", "binary"]
    assert prep.categories_[0] == ["Lima", "Oslo", "Pune"]
    assert prep.embedding_cardinalities_ == [22]  # missing, 20 levels, unknown
    # income, age, city x 3, member, then the code of shop
    np.testing.assert_array_equal(prep.groups_, [0, 1, 2, 2, 2, 4, 3])
    assert prep.n_numeric_out_ == 6
    out = prep.transform(X)
    np.testing.assert_array_equal(out[:, 2:5], pd.get_dummies(X["city"]).to_numpy(float))
    np.testing.assert_array_equal(out[:, 5], np.where(X["member"], 1.0, -1.0))
    np.testing.assert_array_equal(out[:, 6], X["shop"].cat.codes.to_numpy() + 1)
    assert len(prep.get_feature_names_out()) == out.shape[1]


def test_max_one_hot_counts_the_missing_slot_as_realmlp_does():
    eight = np.array([f"l{k}" for k in range(8)] * 2, dtype=object)[:, None]
    nine = np.array([f"l{k}" for k in range(9)] * 2, dtype=object)[:, None]
    assert TabularPreprocessor().fit(eight).encodings_ == ["one_hot"]
    assert TabularPreprocessor().fit(nine).encodings_ == ["embedding"]
    assert TabularPreprocessor(max_one_hot=10).fit(nine).encodings_ == ["one_hot"]


def test_unknown_and_missing_levels():
    X = _frame()
    prep = TabularPreprocessor().fit(X)
    new = pd.DataFrame({
        "income": [1.0, 2.0, 3.0], "age": [20.0, 30.0, 40.0],
        "city": pd.Series(["Rome", None, "Lima"], dtype="str"),
        "shop": pd.Series(["zz", None, "s03"], dtype="category"),
        "member": pd.Series([None, True, False], dtype="boolean"),
    })
    out = prep.transform(new)
    np.testing.assert_array_equal(out[:, 2:5], [[0, 0, 0], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(out[:, 5], [0, 1, -1])
    np.testing.assert_array_equal(out[:, 6], [21, 0, 4])  # unknown L + 1, missing 0, s03


def test_missing_values_in_training_are_no_level_of_a_categorical_column():
    X = pd.DataFrame({"c": pd.Series(["a", None, "b", "c", np.nan], dtype="str")})
    prep = TabularPreprocessor().fit(X)
    assert prep.categories_ == [["a", "b", "c"]]
    np.testing.assert_array_equal(prep.transform(X)[1], [0, 0, 0])


@pytest.mark.parametrize("dtype", ["str", "string", "object", "category"])
def test_text_columns_are_categorical_under_from_dtype(dtype):
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "t": pd.Series(["u", "v", "u"], dtype=dtype)})
    assert TabularPreprocessor().fit(X).kinds_ == ["numeric", "categorical"]


@pytest.mark.parametrize("dtype", ["bool", "boolean"])
def test_boolean_columns_are_categorical_under_from_dtype(dtype):
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "b": pd.Series([True, False, True], dtype=dtype)})
    prep = TabularPreprocessor().fit(X)
    assert prep.kinds_ == ["numeric", "categorical"] and prep.categories_ == [[False, True]]


def test_arrays_under_from_dtype():
    numbers = np.arange(12.0).reshape(6, 2)
    assert TabularPreprocessor().fit(numbers).kinds_ == ["numeric", "numeric"]
    text = np.array([["a", "b"], ["c", "a"]])
    assert TabularPreprocessor().fit(text).kinds_ == ["categorical", "categorical"]
    mixed = np.array([[1, "a", 2.5], [None, "b", 3], [4, None, np.nan]], dtype=object)
    prep = TabularPreprocessor().fit(mixed)
    assert prep.kinds_ == ["numeric", "categorical", "numeric"]
    assert prep.missing_columns_ == [0, 2]
    assert "feature_names_in_" not in vars(prep) and prep.n_features_in_ == 3


def test_a_list_of_rows_keeps_its_numbers_numeric():
    rows = [[1.0, "red"], [2.0, "blue"], [4.0, "red"]]
    prep = TabularPreprocessor().fit(rows)
    assert prep.kinds_ == ["numeric", "categorical"]
    np.testing.assert_array_equal(prep.transform([[2.0, "pink"]]), [[0.0, 0.0]])


@pytest.mark.parametrize("spec, kinds", [
    (None, ["numeric", "numeric", "numeric"]),
    ([], ["numeric", "numeric", "numeric"]),
    ([False, True, True], ["numeric", "categorical", "categorical"]),
    ([2], ["numeric", "numeric", "categorical"]),
    ([-1], ["numeric", "numeric", "categorical"]),
    (["b"], ["numeric", "categorical", "numeric"]),
])
def test_categorical_features_variants(spec, kinds):
    X = pd.DataFrame({"a": [0.5, 1.5, 2.5, 3.5], "b": [1, 2, 1, 2], "c": [7, 8, 9, 7]})
    prep = TabularPreprocessor(categorical_features=spec).fit(X)
    assert prep.kinds_ == kinds
    assert np.isfinite(prep.transform(X)).all()


@pytest.mark.parametrize("spec, message", [
    (["nope"], "names columns that X lacks"),
    ([5], "out of range"),
    ([True, False], "must have 3 entries"),
    ("all", "categorical_features"),
])
def test_bad_categorical_features_say_what_is_wrong(spec, message):
    X = pd.DataFrame({"a": [0.5, 1.5], "b": [1, 2], "c": [7, 8]})
    with pytest.raises(ValueError, match=message):
        TabularPreprocessor(categorical_features=spec).fit(X)


def test_column_names_need_a_dataframe():
    with pytest.raises(ValueError, match="no column names"):
        TabularPreprocessor(categorical_features=["a"]).fit(np.ones((3, 2)))


def test_text_in_a_column_declared_numeric_names_it():
    X = pd.DataFrame({"a": [1.0, 2.0], "t": pd.Series(["u", "3.5"], dtype="str")})
    with pytest.raises(ValueError, match=r"Column 't' of X is numeric but holds 'u'.*"
                                         r"categorical_features=\['t'\]"):
        TabularPreprocessor(categorical_features=[]).fit(X)


# -- bad input ---------------------------------------------------------------------------------
def _with(column, values):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    X[column] = values
    return X


@pytest.mark.parametrize("values, message", [
    (pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"]), r"dates or times.*dt\.year"),
    (pd.to_timedelta([1, 2, 3], unit="D"), "dates or times"),
    (pd.Series([pd.Timestamp("2020-01-01"), "x", None], dtype=object), "dates or times"),
    ([np.nan, np.nan, np.nan], "missing in every row"),
    (pd.Series([None, None, None], dtype="str"), "missing in every row"),
    ([1.0, np.inf, 3.0], "infinite values"),
    ([1 + 2j, 3.0, 4.0], "complex numbers"),
])
def test_bad_columns_at_fit_raise_naming_the_column(values, message):
    with pytest.raises(ValueError, match=rf"Column 'b' of X .*{message}"):
        TabularPreprocessor().fit(_with("b", values))


def test_an_unhashable_level_is_a_type_error_naming_the_column():
    X = np.array([[{"k": 1}], ["a"]], dtype=object)
    with pytest.raises(TypeError, match="Column 0 of X holds .*string, a bool or a number"):
        TabularPreprocessor().fit(X)


def test_bad_values_at_transform_raise_naming_the_column():
    X = pd.DataFrame({"n": [1.0, 2.0, 3.0], "t": pd.Series(["u", "v", "w"], dtype="str")})
    prep = TabularPreprocessor().fit(X)
    with pytest.raises(ValueError, match="Column 'n' of X holds infinite values"):
        prep.transform(X.assign(n=[1.0, -np.inf, 0.0]))
    with pytest.raises(ValueError, match="Column 'n' of X was numeric in fit and now holds 'x'"):
        prep.transform(X.assign(n=pd.Series(["x", "1", "2"], dtype="str")))
    with pytest.raises(ValueError, match="Column 't' of X held text in fit and now holds 5"):
        prep.transform(X.assign(t=[5, 6, 7]))
    with pytest.raises(ValueError, match="Column 't' of X holds dates"):
        prep.transform(X.assign(t=pd.to_datetime(["2020-01-01"] * 3)))


def test_reordered_columns_raise_as_scikit_learn_does():
    X = _frame()
    prep = TabularPreprocessor().fit(X)
    assert list(prep.feature_names_in_) == list(X.columns)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        prep.transform(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        prep.transform(X.iloc[:, :4])
    unnamed = TabularPreprocessor().fit(X.to_numpy())
    with pytest.raises(ValueError, match="X has 4 features, but TabularPreprocessor is "
                                         "expecting 5"):
        unnamed.transform(X.iloc[:, :4].to_numpy())


def test_a_failed_fit_changes_nothing():
    prep = TabularPreprocessor().fit(_frame())
    before = {k: v for k, v in vars(prep).items()}
    with pytest.raises(ValueError, match="infinite"):
        prep.fit(pd.DataFrame({"z": [1.0, np.inf]}))
    assert vars(prep).keys() == before.keys()
    assert list(prep.feature_names_in_) == list(before["feature_names_in_"])
    assert prep.transform(_frame()).shape[1] == before["groups_"].size
    fresh = TabularPreprocessor()
    with pytest.raises(ValueError, match="infinite"):
        fresh.fit(pd.DataFrame({"z": [1.0, np.inf]}))
    assert vars(fresh) == vars(TabularPreprocessor())  # not even n_features_in_


# -- output ------------------------------------------------------------------------------------
@pytest.mark.parametrize("numeric", ["robust", "quantile"])
def test_output_is_finite_float32_for_missing_and_unknown_everything(numeric):
    rng = np.random.default_rng(3)
    X = _frame(300, seed=3)
    X.loc[rng.random(300) < 0.2, "income"] = np.nan
    X.loc[rng.random(300) < 0.2, "city"] = None
    prep = TabularPreprocessor(numeric=numeric).fit(X)
    new = _frame(50, seed=4)
    new.loc[:, "income"] = np.nan
    new["age"] = rng.normal(0, 1e30, 50)  # far outside the training range
    new["city"] = pd.Series(["Atlantis"] * 50, dtype="str")
    new["shop"] = pd.Series([None] * 25 + ["new"] * 25, dtype="category")
    out = prep.transform(new)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert TabularPreprocessor(dtype=np.float64).fit_transform(X).dtype == np.float64


def test_fitted_state_is_plain_data_and_survives_pickle():
    X = _frame()
    prep = TabularPreprocessor().fit(X)
    plain = (int, float, str, bool, type(None), np.ndarray, np.dtype, type)
    for name, value in vars(prep).items():
        items = value if isinstance(value, list) else [value]
        flat = [v for item in items for v in (item if isinstance(item, list) else [item])]
        assert all(isinstance(v, plain) for v in flat), (name, value)
    again = pickle.loads(pickle.dumps(prep))
    np.testing.assert_array_equal(again.transform(X), prep.transform(X))


def test_skops_loads_it_trusting_only_skdnns_class():
    sio = pytest.importorskip("skops.io")
    X = _frame()
    prep = TabularPreprocessor(numeric="quantile").fit(X)
    dumped = sio.dumps(prep)
    untrusted = sio.get_untrusted_types(data=dumped)
    assert untrusted == ["skdnn._tabular_prep.TabularPreprocessor"]
    loaded = sio.loads(dumped, trusted=untrusted)
    np.testing.assert_array_equal(loaded.transform(X), prep.transform(X))


def test_arrays_work_without_pandas():
    # pandas hidden by an import hook that refuses it (not sys.modules["pandas"] = None,
    # which scikit-learn 1.7's own DataFrame check reads as pandas being there).
    code = ("import sys\n"
            "class Refuse:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'pandas' or name.startswith('pandas.'):\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Refuse())\n"
            "import numpy as np\n"
            "from skdnn._tabular_prep import TabularPreprocessor\n"
            "X = np.array([[1.0, 'a', None], [2.0, 'b', 3.0], [np.nan, 'a', 4.0]], object)\n"
            "out = TabularPreprocessor().fit(X).transform(X)\n"
            "assert out.shape == (3, 5) and np.isfinite(out).all(), out\n"
            "assert 'pandas' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- the regressor's target --------------------------------------------------------------------
def test_standardise_target():
    y = np.array([1.0, 2.0, 3.0, 6.0])
    mean, scale = standardise_target(y)
    assert mean == 3.0 and scale == pytest.approx(np.std(y))
    mean, scale = standardise_target(y, sample_weight=np.array([1.0, 1.0, 1.0, 0.0]))
    assert mean == 2.0 and scale == pytest.approx(np.sqrt(2 / 3))
    means, scales = standardise_target(np.column_stack([y, 10 * y]))
    np.testing.assert_allclose(scales, [np.std(y), 10 * np.std(y)])


@pytest.mark.parametrize("value", [0.0, 7.0, 1e12, -3e-5])
def test_a_constant_target_has_scale_one(value):
    mean, scale = standardise_target(np.full(10, value) + 0 * np.arange(10))
    assert mean == pytest.approx(value) and scale == 1.0


def test_predictions_are_clipped_to_the_training_range():
    low, high = target_range(np.array([3.0, -1.0, 8.0]))
    assert (low, high) == (-1.0, 8.0)
    np.testing.assert_array_equal(clip_to_range(np.array([-5.0, 2.0, 9.0]), low, high),
                                  [-1.0, 2.0, 8.0])
    lows, highs = target_range(np.array([[0.0, 10.0], [1.0, 20.0]]))
    np.testing.assert_array_equal(clip_to_range(np.array([[5.0, 5.0]]), lows, highs),
                                  [[1.0, 10.0]])
