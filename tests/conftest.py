"""Helpers that several test files share, as fixtures."""

import signal

import numpy as np
import pytest


def _central_differences(f, x, h=1e-6):
    """``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every entry ``i`` of the array ``x``, which
    is moved in place, passed to the scalar function ``f`` and put back; the result has
    ``x``'s shape. ``h`` may be an array of ``x``'s shape (a step per entry)."""
    numeric = np.empty(x.shape, dtype=np.float64)
    steps = np.broadcast_to(h, x.shape)
    for index in np.ndindex(x.shape):
        kept = x[index]
        x[index] = kept + steps[index]
        up = f(x)
        x[index] = kept - steps[index]
        down = f(x)
        x[index] = kept
        numeric[index] = (up - down) / (2 * steps[index])
    return numeric


@pytest.fixture
def central_differences():
    """The function ``central_differences(f, x, h=1e-6)``: the gradient of the scalar
    ``f`` at ``x`` by central differences, one entry of ``x`` at a time."""
    return _central_differences


@pytest.fixture
def sigint_as_in_a_terminal():
    """Python's own SIGINT handler (which raises KeyboardInterrupt) for the test's duration.

    A Python started from a terminal has it, and that is where a Ctrl-C comes from. A Python
    started as a background job of a non-interactive shell (``cmd &`` in a script, nohup)
    inherits SIGINT *ignored* instead: a Ctrl-C cannot reach it, a raised SIGINT does
    nothing, and the fit rightly leaves that disposition alone. Without this fixture the
    tests that raise a real SIGINT passed or failed by how pytest was launched."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def interrupt_call(monkeypatch):
    """The function ``interrupt_call(cls, n_call, how, method="loss_and_gradient")``: make
    the ``n_call``-th call (from 1) of ``cls.method`` deliver a Ctrl-C (``how="signal"``: a
    real SIGINT, as a terminal sends it) or raise a KeyboardInterrupt (``how="raise"``) before
    it runs; returns the list of calls made. ``monkeypatch.undo()`` puts the method back."""

    def interrupt(cls, n_call, how, method="loss_and_gradient"):
        calls, original = [], getattr(cls, method)

        def interrupting(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == n_call:
                if how == "signal":
                    signal.raise_signal(signal.SIGINT)
                else:
                    raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, interrupting)
        return calls

    return interrupt


#: The engine's own tests, fast and closest to its lines: they run first, so that a wrong line
#: in ``skdnn/nn/`` fails a ``pytest -x`` run (``../shared/tools/mutants.py``) in seconds.
ENGINE_TESTS = ("test_reference.py", "test_nn.py", "test_tabular_engine.py", "test_tabnet.py",
                "test_perceptron.py")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.path.name
        return ENGINE_TESTS.index(name) if name in ENGINE_TESTS else len(ENGINE_TESTS)

    items.sort(key=rank)  # stable: each file keeps its own order
