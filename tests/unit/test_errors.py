import pytest

from posegen_core.errors import PoseGenInputError, inputs_named


class _Sub(PoseGenInputError):
    def __init__(self, input_name: str, problem: str, detail: int) -> None:
        super().__init__(input_name, problem, "a smaller one")
        self.detail = detail


def test_message_is_built_from_the_attributes():
    error = PoseGenInputError("steps", "0 steps.", "at least 1")
    assert str(error) == "steps: 0 steps. Expected at least 1."
    assert (error.input_name, error.problem, error.expected) == ("steps", "0 steps.", "at least 1")


def test_inputs_named_renames_by_attribute_and_keeps_class_and_extra_data():
    with pytest.raises(_Sub) as caught, inputs_named({"anchor": "anchor_segment"}):
        raise _Sub("anchor", "base chunk 9 does not exist.", detail=9)
    assert caught.value.input_name == "anchor_segment"
    assert str(caught.value) == "anchor_segment: base chunk 9 does not exist. Expected a smaller one."
    assert caught.value.detail == 9


def test_inputs_named_passes_other_errors_unchanged():
    original = PoseGenInputError("width", "odd.")
    with pytest.raises(PoseGenInputError) as caught, inputs_named({"anchor": "anchor_segment"}):
        raise original
    assert caught.value is original
    with pytest.raises(KeyError), inputs_named({"anchor": "anchor_segment"}):
        raise KeyError("not an input error")
