"""Errors that tell the user which input is wrong and what was expected.

ComfyUI: free (no ComfyUI imports; enforced by ruff TID251). Imports nothing of the pack.

Errors are data: the input's name, the problem and what was expected are attributes, and the message is built
from them. Core functions name their own parameters; a node whose input is called differently renames the error
with :func:`inputs_named` (by attribute, never by parsing the message).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class PoseGenInputError(ValueError):
    """A node input (or a file it points to) is not what PoseGen needs.

    The message always starts with the input's name so that ComfyUI's error
    dialog and the API's ``exception_message`` point at the widget to fix.
    """

    def __init__(self, input_name: str, problem: str, expected: str | None = None) -> None:
        message = f"{input_name}: {problem}"
        if expected:
            message += f" Expected {expected}."
        super().__init__(message)
        self.input_name = input_name
        self.problem = problem
        self.expected = expected

    def renamed(self, input_name: str) -> PoseGenInputError:
        """The same error for an input called ``input_name`` (same class, problem and expectation)."""
        error = PoseGenInputError.__new__(type(self))
        PoseGenInputError.__init__(error, input_name, self.problem, self.expected)
        error.__dict__.update({k: v for k, v in self.__dict__.items() if k not in error.__dict__})
        return error


@contextmanager
def inputs_named(names: Mapping[str, str]) -> Iterator[None]:
    """Inside this block, a :class:`PoseGenInputError` about core parameter ``p`` is re-raised as one about the
    node input ``names[p]``; errors about other inputs pass unchanged."""
    try:
        yield
    except PoseGenInputError as exc:
        if exc.input_name not in names:
            raise
        raise exc.renamed(names[exc.input_name]) from exc.__cause__
