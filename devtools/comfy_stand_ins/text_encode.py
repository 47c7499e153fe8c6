"""PoseGenStandInTextEncode: umT5-XXL-shaped CONDITIONING from a seeded random generator."""

from __future__ import annotations

import torch
from comfy_api.v0_0_2 import io

from .common import CATEGORY, STAND_IN_NOTICE, require_int, seeded_generator, stable_seed

MAX_TEXT_DIM = 16384
MAX_TOKENS = 4096


def stand_in_token_count(text: str, max_tokens: int) -> int:
    """Rows that carry values: one per whitespace-separated word plus an end token, capped at max_tokens."""
    return min(len(text.split()) + 1, max_tokens)


def stand_in_text_embedding(text: str, text_dim: int = 4096, max_tokens: int = 512) -> torch.Tensor:
    """A float32 (1, max_tokens, text_dim) CPU tensor that depends only on the arguments.

    The first :func:`stand_in_token_count` rows are N(0, 1) draws from a generator seeded by a sha256 of
    the text; the remaining rows are exactly zero, as umT5's padded positions are zeroed for Wan models.
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a string, got {type(text).__name__}")
    require_int("text_dim", text_dim, 1)
    require_int("max_tokens", max_tokens, 1)
    used = stand_in_token_count(text, max_tokens)
    emb = torch.zeros((1, max_tokens, text_dim), dtype=torch.float32)
    values = torch.randn((used, text_dim), generator=seeded_generator(stable_seed("text", text)), dtype=torch.float32)
    emb[0, :used] = values
    return emb


class PoseGenStandInTextEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInTextEncode",
            display_name="PoseGen Stand-in Text Encode (tests only)",
            category=CATEGORY,
            description=(
                f"{STAND_IN_NOTICE} Replaces a umT5-XXL text encoder: outputs CONDITIONING [[emb, {{}}]] with emb "
                "float32 (1, max_tokens, text_dim), random values seeded by the text for one row per word plus "
                "an end token, zeros after that. Same text, same output."
            ),
            inputs=[
                io.String.Input(
                    "text", multiline=True, default="", tooltip="Any text; only its hash and word count matter."
                ),
                io.Int.Input(
                    "text_dim", default=4096, min=1, max=MAX_TEXT_DIM, tooltip="Embedding width (umT5-XXL: 4096)."
                ),
                io.Int.Input(
                    "max_tokens", default=512, min=1, max=MAX_TOKENS, tooltip="Padded sequence length (Wan: 512)."
                ),
            ],
            outputs=[io.Conditioning.Output()],
        )

    @classmethod
    def execute(cls, text: str, text_dim: int = 4096, max_tokens: int = 512) -> io.NodeOutput:
        # Imported here: comfy.model_management probes devices on import, which the pure function above avoids.
        import comfy.model_management

        emb = stand_in_text_embedding(text, text_dim, max_tokens)
        return io.NodeOutput([[emb.to(comfy.model_management.intermediate_device()), stand_in_subject(text)]])


def stand_in_subject(text: str) -> dict:
    """Like PoseGen Text Encode, record where the subject word is; here a token is a word (one row per word)."""
    from posegen_core.errors import PoseGenInputError
    from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY, subject_token_positions

    words = [w.strip(".,;:!?\"'").lower() for w in text.split()]
    try:
        _, positions = subject_token_positions(text, words, lambda w: [w.lower()])
    except PoseGenInputError:
        return {}  # no subject word: the sampler's 'attention' masks will say so
    return {SUBJECT_TOKENS_KEY: positions}
