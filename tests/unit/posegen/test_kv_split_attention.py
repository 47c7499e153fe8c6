"""KV-shared self-attention with one attention per query equals PoseGen's rule (both attentions for every token,
then keep one): bit for bit with PyTorch SDPA (ComfyUI's choice on GPU and the best on CPU), split and basic
attention. Sub-quadratic attention's ``baddbmm`` may round a row's scores differently when it is given fewer rows
(a last-bit change, seen at up to 3e-7 on 320 tokens, none at 1,000+), so it is held to 1e-6."""

import comfy.ldm.modules.attention as comfy_attention
import pytest
import torch
from torch import nn

from posegen_core.posegen.dit_forward import attend_split

BACKENDS = ("attention_pytorch", "attention_sub_quad", "attention_split", "attention_basic")


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.num_heads = heads
        self.o = nn.Linear(dim, dim)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("own_share", [0.0, 0.35, 1.0])
def test_split_equals_both_attentions_then_select(backend, own_share, monkeypatch):
    monkeypatch.setattr(comfy_attention, "optimized_attention", getattr(comfy_attention, backend))
    g = torch.Generator().manual_seed(0)
    video, ref, dim, heads = 300, 20, 64, 2
    q, k, v, k_anchor, v_anchor = (torch.randn(2, video + ref, dim, generator=g) for _ in range(5))
    own = torch.rand(video + ref, generator=g) < own_share
    own[video:] = False  # reference tokens always take the anchor's attention
    attn = _Attention(dim, heads)
    with torch.no_grad():
        mine = comfy_attention.optimized_attention(q, k, v, heads)
        anchor = comfy_attention.optimized_attention(q, k_anchor, v_anchor, heads)
        rule = attn.o(torch.where(own[None, :, None], mine, anchor))
        split = attend_split(attn, q, (k, v), (k_anchor, v_anchor), own, {})
    if backend == "attention_sub_quad":
        assert (split - rule).abs().max() <= 1e-6
    else:
        assert torch.equal(split, rule)
