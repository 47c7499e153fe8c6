import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.subject import (
    SUBJECT_TOKENS_KEY,
    choose_subject_word,
    encode_prompt_with_subject,
    find_subsequence,
)


def test_subject_word_order_and_whole_words():
    assert choose_subject_word("A woman and a man dance.") == "woman"  # PoseGen's order: woman, girl, man, boy
    assert choose_subject_word("A boy and a girl.") == "girl"
    assert choose_subject_word("A human dancer") is None  # PoseGen's substring test would pick "man" here
    assert choose_subject_word("The MAN waves") == "man"


def test_find_subsequence():
    assert find_subsequence([5, 7, 9, 7, 9], [7, 9]) == [1, 2]
    assert find_subsequence([5, 7], [8]) == []


class FakeClip:
    """ComfyUI's CLIP interface with a word-piece tokenizer: 'woman' is two pieces, everything else one."""

    PAD, END = 0, 1

    def _ids(self, word: str) -> list[int]:
        word = word.strip(".,").lower()
        return [100, 101] if word == "woman" else [200 + sum(map(ord, word)) % 50]

    def tokenize(self, text: str) -> dict:
        ids = [i for w in text.split() for i in self._ids(w)] + [self.END]
        ids += [self.PAD] * (16 - len(ids))
        return {"umt5xxl": [[(i, 1.0) for i in ids]]}

    def encode_from_tokens_scheduled(self, tokens: dict) -> list:
        return [[torch.zeros(1, 16, 8), {"pooled_output": None}]]


def test_encode_prompt_records_the_subject_tokens():
    conditioning, word, positions = encode_prompt_with_subject(FakeClip(), "a tall woman waves")
    assert word == "woman" and positions == [2, 3]
    assert conditioning[0][1][SUBJECT_TOKENS_KEY] == [2, 3] and "pooled_output" in conditioning[0][1]
    _, word, positions = encode_prompt_with_subject(FakeClip(), "a tall woman waves", subject_word="waves")
    assert word == "waves" and positions == [4]


@pytest.mark.parametrize("text, subject, name", [("a dancer waves", "auto", "text"), ("a man waves", "cat",
                                                                                       "subject_word")])
def test_missing_subject_is_a_clear_error(text, subject, name):
    with pytest.raises(PoseGenInputError) as err:
        encode_prompt_with_subject(FakeClip(), text, subject)
    assert str(err.value).startswith(f"{name}: ")
