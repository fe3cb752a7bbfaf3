"""Ctrl-C during training: held until the end of the current batch, then the weights
trained so far are kept (every estimator), a warning names the epoch, and the
KeyboardInterrupt is raised again."""

from __future__ import annotations

import signal
import threading


class KeptInterrupt(KeyboardInterrupt):
    """The KeyboardInterrupt a fit raises again after committing the weights trained until a
    Ctrl-C (a KeyboardInterrupt, so that scripts and searches still stop)."""


class DeferredInterrupt:
    """Holds a Ctrl-C during training until the end of the current batch.

    Inside ``with DeferredInterrupt() as interrupt:``, a first SIGINT only records the
    request, and :meth:`check`, called after each batch's step, raises the
    KeyboardInterrupt there, so that the weights and the optimiser's state are those of a
    finished step. A second Ctrl-C interrupts at once. Where Python's own handler is not
    the one in place (a thread other than the main one, or a handler of the user's), signals
    are left as they are and a KeyboardInterrupt comes wherever it comes.
    """

    def __init__(self):
        self.requested = self.raised = False
        self._previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame):
        if self.requested:  # a second Ctrl-C: now
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        """Raise the KeyboardInterrupt of a Ctrl-C held since the last check."""
        if self.requested:
            self.requested, self.raised = False, True
            raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class Interrupted(Exception):
    """A KeyboardInterrupt during training: the epoch (or iteration) it stopped, numbered
    from 1, whether that epoch was complete, and the parameters to keep."""

    def __init__(self, epoch, complete, theta):
        super().__init__(epoch)
        self.epoch, self.complete, self.theta = epoch, complete, theta


def interrupted_message(interrupted, what="epoch", best=False, keeps_partial=True):
    """The warning of a fit that keeps its weights after a Ctrl-C: where it stopped, and
    what the model keeps (``best``: the weights of the best validation epoch;
    ``keeps_partial``: the steps of an epoch stopped in its middle, else only the complete
    epochs', as the perceptron's averaged weights)."""
    n = interrupted.epoch
    kept = "the weights of the best validation epoch" if best else "the weights trained until then"
    if interrupted.complete:
        when = f"at the end of {what} {n}: the model keeps {kept}"
    elif not keeps_partial:
        when = f"in {what} {n}: the model keeps the weights of the {n - 1} complete {what}(s)"
    elif what == "iteration":
        when = (f"in {what} {n}: the model keeps the parameters of iteration {n - 1}, the "
                "last complete one")
    else:
        when = (f"in {what} {n}: the model keeps {kept}, after {n - 1} complete {what}(s) and "
                f"the batches of {what} {n} that ran")
    return f"Training was interrupted (KeyboardInterrupt) {when}."
