"""The pack's forwards use the attention ComfyUI selected (``optimized_attention``, set from the command line:
PyTorch SDPA, xformers, sage, flash, split, sub-quadratic) and honour a per-model ``optimized_attention_override``,
so a GPU user's choice applies to PoseGen and PoseAnything as it does to ComfyUI's own Wan."""

import comfy.ldm.modules.attention as comfy_attention
import torch

from posegen_core.golden import run_forward
from posegen_core.golden.poseanything_cases import _forward as pa_run_forward


def _recording_attention(monkeypatch) -> list[tuple[int, ...]]:
    calls: list[tuple[int, ...]] = []
    selected = comfy_attention.optimized_attention

    def recording(q, k, v, heads, *args, **kwargs):
        calls.append(tuple(q.shape))
        return selected(q, k, v, heads, *args, **kwargs)

    monkeypatch.setattr(comfy_attention, "optimized_attention", recording)
    return calls


def test_posegen_forward_calls_the_selected_attention(posegen_golden_patcher, monkeypatch):
    golden, patcher = posegen_golden_patcher
    inputs = golden.tensors("inputs.safetensors")
    before = run_forward(patcher, inputs, "x_anchor", "cond_latents_anchor", "hand_latents_anchor")
    calls = _recording_attention(monkeypatch)
    after = run_forward(patcher, inputs, "x_anchor", "cond_latents_anchor", "hand_latents_anchor")
    blocks = len(patcher.model.diffusion_model.blocks)
    assert len(calls) == 3 * blocks  # self-attention, text and image cross-attention in every block
    assert torch.equal(before, after)


def test_posegen_forward_honours_an_attention_override(posegen_golden_patcher):
    golden, patcher = posegen_golden_patcher
    inputs = golden.tensors("inputs.safetensors")
    overridden: list[str] = []

    def override(func, *args, **kwargs):
        overridden.append(func.__name__)
        return func(*args, **kwargs)

    model = patcher.clone()
    model.model_options.setdefault("transformer_options", {})["optimized_attention_override"] = override
    run_forward(model, inputs, "x_anchor", "cond_latents_anchor", "hand_latents_anchor")
    assert len(overridden) == 3 * len(patcher.model.diffusion_model.blocks)
    assert set(overridden) == {comfy_attention.optimized_attention.__name__}


def test_poseanything_forward_calls_the_selected_attention(pa_dir, pa_patcher, monkeypatch):
    from posegen_core.golden import GoldenFolder

    inputs = GoldenFolder(pa_dir).tensors("inputs.safetensors")
    calls = _recording_attention(monkeypatch)
    pa_run_forward(pa_patcher, inputs, inputs["forward_latents"], inputs["forward_timestep"], {})
    assert len(calls) == 2 * len(pa_patcher.model.diffusion_model.blocks)  # self- and text cross-attention
