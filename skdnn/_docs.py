"""The estimators' documentation: the address of skdnn's docs site, the link from an
estimator's HTML representation to its API page, and the docstring every prediction method
shares."""

import inspect
from pathlib import Path

#: The root of skdnn's documentation site, the one place its address is written. No site is
#: hosted yet (skdnn has no public repository or package index entry either), so this is the
#: site as ``python -m sphinx docs docs/_build/html`` builds it in the checkout skdnn is
#: imported from; write the hosted address here once there is one.
DOCS_URL = (Path(__file__).resolve().parents[1] / "docs" / "_build" / "html").as_uri() + "/"


class DocLinkMixin:
    """Links an estimator's HTML representation (in Jupyter) to its API page of the docs
    site, ``api/generated/skdnn.<ClassName>.html`` under :data:`DOCS_URL`, as scikit-learn's
    ``BaseEstimator`` links its own estimators to scikit-learn.org."""

    _doc_link_module = "skdnn"
    _doc_link_template = DOCS_URL + "api/generated/{estimator_module}.{estimator_name}.html"


def predicts(summary, returns, accepts="{array-like, sparse matrix}"):
    """Give a prediction method its docstring: ``summary``, the ``X`` that the prediction
    methods of skdnn take, and ``returns``, its Returns entry (``name : type`` and the
    description below it, indented; dedented here).

    Parameters
    ----------
    summary : str
        The docstring's first paragraph.
    returns : str
        The numpydoc Returns entry.
    accepts : str, default="{array-like, sparse matrix}"
        The types ``X`` may have (TabNet takes no sparse matrix:
        ``"{array-like, DataFrame}"``).

    Returns
    -------
    decorate : callable
        Sets the method's ``__doc__`` and returns the method.
    """
    doc = (f"{inspect.cleandoc(summary)}\n\nParameters\n----------\n"
           f"X : {accepts} of shape (n_samples, n_features)\n"
           "    The input data, with the features the estimator was fitted on.\n\n"
           f"Returns\n-------\n{inspect.cleandoc(returns)}\n")

    def decorate(method):
        method.__doc__ = doc
        return method

    return decorate
