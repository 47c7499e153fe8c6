"""Errors that tell the user which input is wrong and what was expected."""

from __future__ import annotations


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
