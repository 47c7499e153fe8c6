"""The subject word of the prompt and its token positions, for PoseGen's cross-attention foreground masks (§6.1).

PoseGen looks for ``woman``, ``girl``, ``man``, ``boy`` in that order with a plain substring test and takes the
first position of that word's token in the tokenised prompt. A substring test picks "man" inside "human" or
"woman"-free "mankind"; we match whole words instead (same order), and look the word's own token pieces up in the
prompt's tokens, so any tokenizer (and a multi-piece word) works.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import PoseGenInputError

POSEGEN_SUBJECT_WORDS = ("woman", "girl", "man", "boy")
SUBJECT_TOKENS_KEY = "posegen_subject_tokens"  # conditioning entry: positions of the subject word's tokens


def choose_subject_word(prompt: str, words: Sequence[str] = POSEGEN_SUBJECT_WORDS) -> str | None:
    """The first of ``words`` that occurs in ``prompt`` as a whole word (case-insensitive)."""
    for word in words:
        if re.search(rf"\b{re.escape(word)}\b", prompt, flags=re.IGNORECASE):
            return word
    return None


def find_subsequence(tokens: Sequence[int], piece: Sequence[int]) -> list[int]:
    """Positions of the first occurrence of ``piece`` in ``tokens`` (empty if absent)."""
    n = len(piece)
    for start in range(len(tokens) - n + 1):
        if list(tokens[start:start + n]) == list(piece):
            return list(range(start, start + n))
    return []


def subject_token_positions(prompt: str, prompt_tokens: Sequence[int], word_tokens_of, subject_word: str = "auto",
                            input_name: str = "text") -> tuple[str, list[int]]:
    """(word, positions) of the subject word in the tokenised prompt; ``word_tokens_of(word)`` tokenises a word
    the way the prompt was (without special tokens)."""
    word = choose_subject_word(prompt) if subject_word == "auto" else subject_word.strip()
    if not word:
        raise PoseGenInputError(input_name, "the prompt names no subject PoseGen can find.",
                                f"one of the words {', '.join(POSEGEN_SUBJECT_WORDS)} (or set subject_word), which "
                                "the foreground masks of KV sharing follow")
    if subject_word != "auto" and not re.search(rf"\b{re.escape(word)}\b", prompt, flags=re.IGNORECASE):
        raise PoseGenInputError("subject_word", f"'{word}' does not occur in the prompt.", "a word of the prompt")
    for variant in (word, word.lower(), word.capitalize()):
        positions = find_subsequence(prompt_tokens, word_tokens_of(variant))
        if positions:
            return word, positions
    raise PoseGenInputError(input_name, f"the subject word '{word}' is in the prompt but its tokens were not found "
                            "(it may be split differently inside a longer word).",
                            "the word standing on its own, e.g. 'a woman dancing'")


def _token_ids(tokenized: dict) -> tuple[str, list[int]]:
    """ComfyUI's ``clip.tokenize`` output -> (stream name, flat token ids); the first stream is the text encoder's
    (``umt5xxl`` for Wan)."""
    key = next(iter(tokenized))
    return key, [int(t[0]) for batch in tokenized[key] for t in batch]


def encode_prompt_with_subject(clip, text: str, subject_word: str = "auto") -> tuple[list, str, list[int]]:
    """CONDITIONING of ``text`` (as CLIPTextEncode makes it) carrying the subject word's token positions.

    Positions count in the text encoder's token stream, which is the text part of the DiT's context. Special and
    padding tokens are recognised as the ones an empty prompt consists of.
    """
    tokens = clip.tokenize(text)
    key, prompt_ids = _token_ids(tokens)
    special = set(_token_ids(clip.tokenize(""))[1])

    def word_tokens(word: str) -> list[int]:
        return [t for t in _token_ids(clip.tokenize(word))[1] if t not in special]

    word, positions = subject_token_positions(text, prompt_ids, word_tokens, subject_word)
    conditioning = clip.encode_from_tokens_scheduled(tokens)
    return [[c[0], {**c[1], SUBJECT_TOKENS_KEY: positions}] for c in conditioning], word, positions
