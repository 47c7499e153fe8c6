"""The PoseGen MODEL as ComfyUI sees it, on a tiny random model of the real architecture."""

import comfy.model_management
import comfy.patcher_extension
import pytest
import torch

from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen
from posegen_core.errors import PoseGenInputError
from posegen_core.golden import sampler_transformer_options
from posegen_core.posegen.comfy_model import build_model_patcher, load_model, posegen_info


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    return write_tiny_posegen(tmp_path_factory.mktemp("models"), make_tiny_posegen(tiny_config(num_layers=3)))


@pytest.fixture(scope="module")
def patcher(tiny_folders):
    return load_model(tiny_folders[0], "auto", torch.float32)


def _inputs(batch=1, seed=0, t=3, h=8, w=6):
    g = torch.Generator().manual_seed(seed)
    cfg = tiny_config()
    return dict(
        x=torch.randn(batch, 36, t, h, w, generator=g),
        timestep=torch.full((batch,), 937.5),
        context=torch.randn(batch, 7, cfg.text_dim, generator=g),
        clip_fea=torch.randn(batch, 257, 1280, generator=g),
        reference_latent=torch.randn(batch, 16, h, w, generator=g),
        posegen_hand_latent=torch.randn(batch, 16, t, h, w, generator=g),
    )


def _forward(patcher, inputs):
    comfy.model_management.load_models_gpu([patcher])
    args = dict(inputs)
    x, timestep, context = args.pop("x"), args.pop("timestep"), args.pop("context")
    with torch.no_grad():
        return patcher.model.diffusion_model(x, timestep, context,
                                             transformer_options=sampler_transformer_options(patcher), **args)


def test_model_is_comfyuis_wan21_with_posegen_settings(patcher):
    import comfy.ldm.wan.model
    import comfy.model_base

    assert isinstance(patcher.model, comfy.model_base.WAN21)
    assert type(patcher.model.diffusion_model) is comfy.ldm.wan.model.WanModel
    assert patcher.model.model_sampling.shift == 5.0
    assert posegen_info(patcher).variant == "base"
    assert "diffusion_model._forward" in patcher.object_patches
    sd = patcher.model.diffusion_model.state_dict()
    assert "ref_patch_embedding.weight" in sd and "hand_patch_embedding.weight" in sd


def test_variant_mismatch_is_refused(tiny_folders):
    with pytest.raises(PoseGenInputError, match="^variant:"):
        load_model(tiny_folders[1], "base")
    assert posegen_info(load_model(tiny_folders[1], "auto")).variant == "cond"


def test_forward_patch_is_applied_and_removed_by_comfyui(patcher):
    stock = type(patcher.model.diffusion_model)._forward
    comfy.model_management.load_models_gpu([patcher])
    assert patcher.model.diffusion_model._forward.func.__name__ == "posegen_forward"
    patcher.unpatch_model()
    assert patcher.model.diffusion_model._forward.__func__ is stock


def test_diffusion_model_wrappers_still_wrap_the_posegen_forward(patcher):
    seen = []

    def wrapper(executor, *args, **kwargs):
        seen.append(args[0].shape)
        return executor(*args, **kwargs)

    wrapped = patcher.clone()
    wrapped.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "spy", wrapper)
    out = _forward(wrapped, _inputs())
    assert seen == [torch.Size([1, 36, 3, 8, 6])] and out.shape == (1, 16, 3, 8, 6)


def test_batch_of_two_equals_two_single_passes(patcher):
    """ComfyUI batches cond and uncond; each element must be computed as alone."""
    a, b = _inputs(seed=1), _inputs(seed=2)
    both = {k: torch.cat([a[k], b[k]]) for k in a}
    out = _forward(patcher, both)
    assert torch.allclose(out[:1], _forward(patcher, a), atol=1e-5)
    assert torch.allclose(out[1:], _forward(patcher, b), atol=1e-5)


def test_reference_and_hand_latents_change_the_output(patcher):
    base = _forward(patcher, _inputs())
    other_ref = _inputs()
    other_ref["reference_latent"] = other_ref["reference_latent"] + 1
    no_hand = _inputs()
    del no_hand["posegen_hand_latent"]
    assert (base - _forward(patcher, other_ref)).abs().max() > 1e-3
    assert (base - _forward(patcher, no_hand)).abs().max() > 1e-3


def test_skipping_reference_work_in_the_last_block_changes_nothing(patcher, monkeypatch):
    import posegen_core.posegen.dit_forward as fwd

    fast = _forward(patcher, _inputs())
    original = fwd.posegen_block
    monkeypatch.setattr(fwd, "posegen_block", lambda *a, **k: original(*a, **{**k, "ref_needed_after": True}))
    assert torch.equal(fast, _forward(patcher, _inputs()))


def test_missing_conditioning_is_reported(patcher):
    inputs = _inputs()
    del inputs["reference_latent"]
    with pytest.raises(ValueError, match="reference latent"):
        _forward(patcher, inputs)


def test_bf16_weights_run_close_to_fp32(tiny_folders, patcher):
    bf16 = load_model(tiny_folders[0], "auto", torch.bfloat16)
    assert bf16.model.get_dtype() == torch.bfloat16
    want = _forward(patcher, _inputs())
    got = _forward(bf16, _inputs()).float()
    assert torch.isfinite(got).all()
    assert (got - want).abs().max() < 0.1 * want.abs().max()


def test_checkpoint_that_does_not_fit_its_config(tiny_folders, tmp_path):
    import shutil

    from posegen_core.posegen.checkpoint import load_checkpoint

    broken = tmp_path / "broken-base"
    shutil.copytree(tiny_folders[0], broken)
    config = (broken / "model_config.json").read_text().replace('"ffn_dim": 256', '"ffn_dim": 512')
    (broken / "model_config.json").write_text(config)
    with pytest.raises(PoseGenInputError, match="wrong shape"):
        build_model_patcher(load_checkpoint(broken), "base")
    config = config.replace('"ffn_dim": 512', '"ffn_dim": 256').replace('"num_layers": 3', '"num_layers": 2')
    (broken / "model_config.json").write_text(config)
    with pytest.raises(PoseGenInputError, match="do not belong"):
        build_model_patcher(load_checkpoint(broken), "base")


def test_memory_estimate_counts_the_reference_tokens(patcher):
    model = patcher.model
    shape = (2, 16, 21, 8, 6)
    plain = model.memory_required(shape)
    batched = model.memory_required(shape, {"reference_latent": [(2, 16, 8, 6)]})  # as the batching check sees it
    assert batched / plain == pytest.approx(22 / 21)
    planned = model.extra_conds_shapes(reference_latents=[torch.zeros(1, 16, 1, 8, 6)])  # before sampling
    assert model.memory_required((1, 16, 21, 8, 6), {k: [v] for k, v in planned.items()}) / model.memory_required(
        (1, 16, 21, 8, 6)) == pytest.approx(22 / 21)


@pytest.mark.parametrize("fp8", [torch.float8_e4m3fn, torch.float8_e5m2])
def test_fp8_weights_are_stored_in_fp8_and_computed_in_the_devices_dtype(tiny_folders, patcher, fp8):
    model = load_model(tiny_folders[0], "auto", fp8)
    weights = model.model.diffusion_model.state_dict()
    kept = {k for k, v in weights.items() if v.dtype != fp8}  # ComfyUI's Wan keeps its patch embeddings in fp32
    assert kept == {f"{p}patch_embedding.{w}" for p in ("", "ref_", "hand_") for w in ("weight", "bias")}
    assert {weights[k].dtype for k in kept} == {torch.float32}
    assert model.model.manual_cast_dtype == torch.float32  # on the CPU: each layer upcast for its matmul
    full = patcher.model.diffusion_model.state_dict()
    assert all(torch.equal(weights[k].float(), full[k].to(weights[k].dtype).float()) for k in full)  # one rounding
    out, ref = _forward(model, _inputs()), _forward(patcher, _inputs())
    assert torch.isfinite(out).all() and out.shape == ref.shape
    assert 0 < (out - ref).abs().max() < ref.abs().max()


def test_converted_fp8_file_loads_as_fp8_on_load(tiny_folders, tmp_path):
    from posegen_core.posegen.checkpoint import load_checkpoint
    from posegen_core.posegen.checkpoint_writer import write_converted_file

    source = load_checkpoint(tiny_folders[0])
    path = write_converted_file(tmp_path / "tiny_fp8.safetensors", source, "base", torch.float8_e4m3fn)
    folder_size = sum(p.stat().st_size for p in tiny_folders[0].iterdir())
    assert path.stat().st_size < folder_size / 3  # fp32 shards (+ LoRA) -> merged fp8
    from_file = load_model(path, "auto", torch.float8_e4m3fn).model.diffusion_model.state_dict()
    on_load = load_model(tiny_folders[0], "auto", torch.float8_e4m3fn).model.diffusion_model.state_dict()
    assert from_file.keys() == on_load.keys()
    assert all(torch.equal(from_file[k].view(torch.uint8), on_load[k].view(torch.uint8)) for k in on_load)
