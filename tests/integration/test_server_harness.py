"""The ComfyServer harness and the stand-in nodes, against a live ComfyUI server.

These tests use only core ComfyUI nodes and the stand-ins, never the PoseGen pack's own nodes, so they
say whether the harness works even while the pack is broken.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import torch

from devtools.comfy_server import (
    ComfyServer,
    ComfyServerError,
    PromptRejected,
    PromptResult,
    WsMessage,
    prepare_base_dir,
)

STAND_IN_NODES = ("PoseGenStandInTextEncode", "PoseGenStandInClipVisionEncode", "PoseGenStandInSleep")


def unique(label: str) -> str:
    # Distinct widget values per test keep ComfyUI's output cache from leaking between tests.
    return f"{label} {uuid.uuid4().hex[:8]}"


def parse_tensor_text(text: str) -> torch.Tensor:
    """The numbers in a printed tensor (PreviewAny shows ``str(conditioning)``), in print order."""
    body = text[text.index("tensor(") :]
    numbers = re.findall(r"-?\d+\.\d*(?:e[+-]?\d+)?", body)
    return torch.tensor([float(n) for n in numbers])


def text_encode(text: str, text_dim: int = 4096, max_tokens: int = 512) -> dict[str, Any]:
    # API prompts must spell out every required widget value: the server fills in no defaults.
    return {
        "class_type": "PoseGenStandInTextEncode",
        "inputs": {"text": text, "text_dim": text_dim, "max_tokens": max_tokens},
    }


def clip_vision(image: list[Any], tokens: int = 257, width: int = 1280) -> dict[str, Any]:
    return {
        "class_type": "PoseGenStandInClipVisionEncode",
        "inputs": {"image": image, "tokens": tokens, "width": width},
    }


def empty_image(width: int = 16, height: int = 16, color: int = 0) -> dict[str, Any]:
    return {"class_type": "EmptyImage", "inputs": {"width": width, "height": height, "batch_size": 1, "color": color}}


def closing_message_ok(result: PromptResult) -> None:
    last = result.messages[-1]
    assert last.type == "executing" and last.data["node"] is None, result.describe()


# --- server and object_info ---------------------------------------------------------------------------------


def test_object_info_lists_stand_ins_with_their_schema(comfy_server: ComfyServer) -> None:
    info = comfy_server.object_info()
    for name in STAND_IN_NODES:
        assert name in info, f"{name} not registered; log:\n{comfy_server.log_tail()}"
        assert info[name]["category"] == "PoseGen/testing"
        description = info[name]["description"].lower()
        assert "stand-in for tests and demos" in description
        assert "no meaningful" in description

    text = info["PoseGenStandInTextEncode"]
    assert text["input"]["required"]["text"][0] == "STRING"
    assert text["input"]["required"]["text"][1]["multiline"] is True
    for name, default in (("text_dim", 4096), ("max_tokens", 512)):
        kind, options = text["input"]["required"][name]
        assert (kind, options["default"], options["min"]) == ("INT", default, 1)
    assert text["output"] == ["CONDITIONING"]
    assert text["output_node"] is False

    vision = info["PoseGenStandInClipVisionEncode"]
    assert vision["input"]["required"]["image"][0] == "IMAGE"
    assert vision["input"]["required"]["tokens"][1]["default"] == 257
    assert vision["input"]["required"]["width"][1]["default"] == 1280
    assert vision["output"] == ["CLIP_VISION_OUTPUT"]

    sleep = info["PoseGenStandInSleep"]
    assert sleep["output_node"] is True
    assert sleep["input"]["required"]["seconds"][0] == "FLOAT"
    assert sleep["input"]["optional"]["value"][0] == "*"

    # The per-class endpoint agrees with the full listing; unknown classes give {}.
    assert comfy_server.object_info("PoseGenStandInTextEncode") == {"PoseGenStandInTextEncode": text}
    assert comfy_server.object_info("NoSuchNodeAnywhere") == {}


def test_base_dir_layout_and_links(comfy_server: ComfyServer, comfy_base_dir: Path) -> None:
    for sub in ("diffusion_models", "vae", "clip_vision", "text_encoders", "posegen"):
        assert (comfy_base_dir / "models" / sub).is_dir()
    stand_ins = comfy_base_dir / "custom_nodes" / "posegen_stand_ins"
    assert stand_ins.is_symlink()
    assert (stand_ins / "__init__.py").is_file()
    assert (comfy_base_dir / "custom_nodes" / "posegen_comfyui").resolve() == Path(__file__).resolve().parents[2]
    assert comfy_server.log_path.parent == comfy_base_dir
    assert "Starting server" in comfy_server.log_path.read_text(errors="replace")
    # The server uses this base dir, not the ComfyUI folder: its sqlite database is here.
    assert (comfy_base_dir / "user" / "comfyui.db").exists()


# --- a successful prompt ---------------------------------------------------------------------------------------


def test_successful_prompt_messages_history_and_files(comfy_server: ComfyServer) -> None:
    text = f"one two {uuid.uuid4().hex}"  # three words, unique so no other test's cache entry applies
    prefix = unique("harness").replace(" ", "_")
    prompt = {
        "1": text_encode(text, text_dim=8, max_tokens=6),
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
        "3": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["1", 0]}},
        "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}},
        "5": empty_image(32, 24, color=0xFF8000),
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": prefix}},
    }
    answer = comfy_server.queue_prompt(prompt)
    assert answer["node_errors"] == {}
    result = comfy_server.wait_for(answer["prompt_id"], timeout=60)

    assert result.status == "success", result.describe()
    assert result.error is None
    types = result.message_types
    assert types[0] == "execution_start"
    assert types.index("execution_start") < types.index("execution_cached") < types.index("executed")
    # execution_success is the last event; only the closing `executing` (node None) follows it.
    assert types.count("execution_success") == 1
    assert types.index("execution_success") == len(types) - 2
    closing_message_ok(result)
    assert not {"execution_error", "execution_interrupted"} & set(types)
    assert sorted(result.executed_nodes) == ["1", "2", "3", "4", "5", "6"]
    # Every node that reports `executed` (the output nodes) was announced by `executing` before.
    for msg in result.messages_of("executed"):
        node = msg.data["node"]
        first_executing = next(
            i for i, m in enumerate(result.messages) if m.type == "executing" and m.data["node"] == node
        )
        assert first_executing < result.messages.index(msg)
    assert sorted(m.data["node"] for m in result.messages_of("executed")) == ["2", "4", "6"]
    assert all(m.prompt_id == result.prompt_id for m in result.messages)

    # History: status and outputs of the three output nodes.
    assert result.history["status"]["status_str"] == "success"
    assert result.history["status"]["completed"] is True
    assert set(result.outputs) == {"2", "4", "6"}

    # The embedding crossed the process boundary intact: the server's values are the stand-in's values.
    from devtools.comfy_stand_ins import stand_in_text_embedding

    shown = parse_tensor_text(result.node_output("2")["text"][0])
    expected = stand_in_text_embedding(text, 8, 6).flatten()
    assert shown.shape == expected.shape
    torch.testing.assert_close(shown, expected, rtol=1e-3, atol=1e-4)
    rows = shown.reshape(6, 8)
    assert bool((rows[:4] != 0).any(dim=1).all()), "3 words + end token must carry values"
    assert bool((rows[4:] == 0).all()), "padding rows must be exactly zero"
    # ConditioningZeroOut consumed the stand-in's CONDITIONING and zeroed it.
    zeroed = parse_tensor_text(result.node_output("4")["text"][0])
    assert zeroed.numel() == 48 and bool((zeroed == 0).all())

    files = result.output_files("images")
    assert len(files) == 1 and files[0].parent == comfy_server.output_dir
    assert files[0].name.startswith(prefix) and files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.output_files("images", node_id="2") == []
    assert result.output_files("gifs") == []
    # wait_for() again returns the same result instead of waiting for messages that will not come.
    assert comfy_server.wait_for(result.prompt_id, timeout=1) is result


def test_repeated_prompt_is_served_from_cache(comfy_server: ComfyServer) -> None:
    prompt = {
        "1": text_encode(unique("cache"), text_dim=4, max_tokens=4),
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }
    first = comfy_server.run(prompt, timeout=60)
    second = comfy_server.run(prompt, timeout=60)
    assert first.ok and second.ok, (first.describe(), second.describe())
    assert first.executed_nodes == ["1", "2"] and first.cached_nodes == []
    assert second.executed_nodes == [] and sorted(second.cached_nodes) == ["1", "2"]
    # ComfyUI re-sends `executed` for cached output nodes, and history still lists their outputs.
    assert [m.data["node"] for m in second.messages_of("executed")] == ["2"]
    assert second.outputs == first.outputs


# --- errors ------------------------------------------------------------------------------------------------------


def test_validation_errors_are_rejected_with_the_server_body(comfy_server: ComfyServer) -> None:
    wrong_type = {
        "1": text_encode(unique("x")),
        "2": clip_vision(["1", 0]),
        "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}},
    }
    with pytest.raises(PromptRejected) as caught:
        comfy_server.queue_prompt(wrong_type)
    rejected = caught.value
    assert rejected.status_code == 400
    assert rejected.error["type"] == "prompt_outputs_failed_validation"
    assert list(rejected.node_errors) == ["2"]
    assert rejected.node_errors["2"]["class_type"] == "PoseGenStandInClipVisionEncode"
    error = rejected.node_errors["2"]["errors"][0]
    assert error["type"] == "return_type_mismatch"
    assert error["extra_info"]["input_name"] == "image"
    assert "CONDITIONING" in error["details"] and "IMAGE" in error["details"]
    assert "node 2 (PoseGenStandInClipVisionEncode)" in str(rejected)

    below_min = {
        "1": empty_image(8, 8),
        "2": clip_vision(["1", 0], tokens=0),
        "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}},
    }
    with pytest.raises(PromptRejected) as caught:
        comfy_server.queue_prompt(below_min)
    assert caught.value.error_types() == ["prompt_outputs_failed_validation", "value_smaller_than_min"]
    assert caught.value.node_errors["2"]["errors"][0]["extra_info"]["input_name"] == "tokens"

    # A rejected prompt never reaches the queue.
    assert comfy_server.queue() == {"queue_running": [], "queue_pending": []}


def test_runtime_error_is_reported_and_server_keeps_serving(comfy_server: ComfyServer) -> None:
    # The Sleep node's "*" passthrough gets past validation, so the CLIP stand-in receives a CONDITIONING
    # list where it expects an IMAGE and must fail with a message that names its input.
    prompt = {
        "1": text_encode(unique("wrong"), text_dim=4, max_tokens=2),
        "2": {
            "class_type": "PoseGenStandInSleep",
            "inputs": {"seconds": 0.0, "steps": 1, "previews": False, "fail_message": "", "value": ["1", 0]},
        },
        "3": clip_vision(["2", 0], tokens=4, width=4),
        "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}},
    }
    failed = comfy_server.run(prompt, timeout=60)
    assert failed.status == "error", failed.describe()
    assert failed.error is not None
    assert failed.error["node_id"] == "3"
    assert failed.error["node_type"] == "PoseGenStandInClipVisionEncode"
    assert failed.error["exception_type"] == "ValueError"
    assert failed.error["exception_message"].startswith("image: expected an IMAGE tensor")
    assert "got list" in failed.error["exception_message"]
    assert failed.error["traceback"], "ComfyUI sends the traceback with execution_error"
    assert "execution_success" not in failed.message_types
    assert failed.message_types.count("execution_error") == 1
    closing_message_ok(failed)
    assert failed.history["status"]["status_str"] == "error"
    assert "image: expected an IMAGE tensor" in failed.describe()
    with pytest.raises(ComfyServerError, match="PoseGenStandInClipVisionEncode"):
        failed.raise_for_status()
    with pytest.raises(ComfyServerError, match="image: expected an IMAGE tensor"):
        comfy_server.run_ok(prompt, timeout=60)

    # A node's own error (Sleep's fail_message) is reported the same way.
    boom = comfy_server.run(
        {"1": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 0.0, "steps": 1, "fail_message": "boom"}}},
        timeout=60,
    )
    assert boom.status == "error"
    assert (boom.error["exception_type"], boom.error["node_type"]) == ("RuntimeError", "PoseGenStandInSleep")
    assert boom.error["exception_message"].startswith("boom")

    # ...and the server goes on with the next prompt.
    fixed = dict(prompt)
    fixed["5"] = empty_image()
    fixed["3"] = clip_vision(["5", 0], tokens=4, width=4)
    ok = comfy_server.run_ok(fixed, timeout=60)
    assert ok.status == "success" and ok.raise_for_status() is ok
    assert ok.node_output("4")["text"][0].startswith("<comfy.clip_vision.Output object")


# --- long-running prompts: progress, previews, interrupt, queue -------------------------------------------------


def test_progress_and_previews_are_recorded_per_node(comfy_server: ComfyServer) -> None:
    prompt = {"7": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 0.2, "steps": 4, "previews": True}}}
    result = comfy_server.run(prompt, timeout=60)
    assert result.ok, result.describe()
    assert result.progress == {"7": [(1.0, 4.0), (2.0, 4.0), (3.0, 4.0), (4.0, 4.0)]}
    assert result.previews == {"7": 4}
    previews = result.messages_of("preview_image")
    assert all(m.payload is not None and m.payload[:2] == b"\xff\xd8" for m in previews), "JPEG previews"
    assert all(m.data["image_type"] == "image/jpeg" and m.data["node_id"] == "7" for m in previews)
    assert result.node_output("7")["text"][0].startswith("slept ")


def test_previews_without_metadata_are_attributed_to_the_running_node(comfy_server: ComfyServer) -> None:
    # An old-style client gets bare preview frames; the harness assigns them to the executing node.
    client = f"legacy-{uuid.uuid4().hex}"
    comfy_server.connect_client(client, preview_metadata=False)
    prompt = {"3": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 0.1, "steps": 3, "previews": True}}}
    answer = comfy_server.queue_prompt(prompt, client_id=client)
    result = comfy_server.wait_for(answer["prompt_id"], timeout=60)
    assert result.ok, result.describe()
    assert result.previews == {"3": 3}
    assert all("node_id" not in m.data for m in result.messages_of("preview_image"))


def test_interrupt_stops_a_running_prompt(comfy_server: ComfyServer) -> None:
    prompt = {"9": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 30.0, "steps": 300}}}
    answer = comfy_server.queue_prompt(prompt)
    prompt_id = answer["prompt_id"]
    seen_running: list[dict[str, Any]] = []

    def interrupt_once_running(msg: WsMessage) -> None:
        # Interrupt only once the node runs: ComfyUI clears the flag when a prompt starts.
        if msg.type == "progress" and not seen_running:
            seen_running.append(comfy_server.queue())
            comfy_server.interrupt(prompt_id)

    result = comfy_server.wait_for(prompt_id, timeout=60, on_message=interrupt_once_running)
    assert result.status == "interrupted", result.describe()
    assert result.elapsed < 10, "the node must stop well before its 30 s"
    assert [item[1] for item in seen_running[0]["queue_running"]] == [prompt_id]
    assert result.error is not None
    assert (result.error["node_id"], result.error["node_type"]) == ("9", "PoseGenStandInSleep")
    assert result.message_types.count("execution_interrupted") == 1
    assert "execution_success" not in result.message_types and "execution_error" not in result.message_types
    closing_message_ok(result)
    steps = result.progress["9"]
    assert steps and all(total == 300.0 for _, total in steps)
    assert [value for value, _ in steps] == sorted(value for value, _ in steps)
    assert steps[-1][0] < 300.0
    # ComfyUI's own history calls an interrupted prompt an error.
    assert result.history["status"]["status_str"] == "error"
    assert comfy_server.queue() == {"queue_running": [], "queue_pending": []}
    # The interrupt flag does not leak into the next prompt.
    after = comfy_server.run({"1": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 0.05}}}, timeout=60)
    assert after.ok, after.describe()


def test_targeted_interrupt_ignores_other_prompts_and_queue_shows_pending(comfy_server: ComfyServer) -> None:
    sleep = {"1": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 0.6, "steps": 6}}}
    first = comfy_server.queue_prompt(sleep)["prompt_id"]
    second = comfy_server.queue_prompt(sleep)["prompt_id"]
    snapshots: list[dict[str, Any]] = []

    def on_progress(msg: WsMessage) -> None:
        if msg.type == "progress" and not snapshots:
            snapshots.append(comfy_server.queue())
            comfy_server.interrupt(second)  # `second` is only queued, so the server ignores this

    one = comfy_server.wait_for(first, timeout=60, on_message=on_progress)
    two = comfy_server.wait_for(second, timeout=60)
    assert one.ok and two.ok, (one.describe(), two.describe())
    assert [item[1] for item in snapshots[0]["queue_running"]] == [first]
    assert [item[1] for item in snapshots[0]["queue_pending"]] == [second]


def test_wait_for_a_prompt_queued_elsewhere_polls_history(comfy_server: ComfyServer) -> None:
    # A prompt posted by another client (no websocket of ours): wait_for falls back to /history.
    session = requests.Session()
    session.trust_env = False
    body = {"prompt": {"1": {"class_type": "PoseGenStandInSleep", "inputs": {"seconds": 0.05}}}, "client_id": "other"}
    prompt_id = session.post(f"{comfy_server.url}/prompt", json=body, timeout=30).json()["prompt_id"]
    result = comfy_server.wait_for(prompt_id, timeout=60)
    assert result.ok, result.describe()
    assert result.message_types == ["execution_start", "execution_cached", "execution_success"]
    assert "1" in result.outputs
    assert comfy_server.history(prompt_id)["status"]["status_str"] == "success"
    assert comfy_server.history("no-such-prompt") is None


# --- start-up failures (no full server start) ---------------------------------------------------------------------


def test_startup_failure_raises_with_log_tail(tmp_path: Path) -> None:
    base = prepare_base_dir(tmp_path / "base")
    server = ComfyServer(base, python=sys.executable, extra_args=["--no-such-flag"], startup_timeout=60)
    with pytest.raises(ComfyServerError, match="exited with code 2") as caught:
        server.start()
    assert "unrecognized arguments: --no-such-flag" in str(caught.value)
    assert not server.is_running

    with pytest.raises(ComfyServerError, match="main.py missing"):
        ComfyServer(base, comfyui_path=tmp_path).start()


def test_prepare_base_dir_validates_links(tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    target.mkdir()
    base = prepare_base_dir(tmp_path / "b", {"pkg": target})
    assert (base / "custom_nodes" / "pkg").resolve() == target.resolve()
    assert prepare_base_dir(base, {"pkg": target}) == base  # idempotent
    with pytest.raises(FileNotFoundError):
        prepare_base_dir(base, {"missing": tmp_path / "nope"})
    with pytest.raises(ValueError, match="not a usable custom-node folder name"):
        prepare_base_dir(base, {"old.disabled": target})


# --- the stand-ins themselves (in-process: values cannot be read back through core nodes) -------------------------


def test_clip_vision_stand_in_features() -> None:
    from devtools.comfy_stand_ins import stand_in_clip_vision_features

    black = torch.zeros((1, 64, 48, 3))
    white = torch.ones((2, 32, 32, 4))  # alpha is ignored, like CLIP preprocessing
    a = stand_in_clip_vision_features(black)
    assert a["penultimate_hidden_states"].shape == (1, 257, 1280)
    assert a["last_hidden_state"].shape == (1, 257, 1280)
    assert a["image_embeds"].shape == (1, 1280)
    assert all(t.dtype == torch.float32 for t in a.values())
    again = stand_in_clip_vision_features(black.clone())
    assert all(torch.equal(a[k], again[k]) for k in a)
    b = stand_in_clip_vision_features(white, tokens=5, width=7)
    assert b["penultimate_hidden_states"].shape == (1, 5, 7)
    c = stand_in_clip_vision_features(white[:, :, :, :3], tokens=5, width=7)
    assert torch.equal(b["image_embeds"], c["image_embeds"])
    d = stand_in_clip_vision_features(torch.zeros((1, 32, 32, 3)), tokens=5, width=7)
    assert not torch.allclose(b["penultimate_hidden_states"], d["penultimate_hidden_states"])
    with pytest.raises(ValueError, match=r"^image: the batch is empty"):
        stand_in_clip_vision_features(torch.zeros((0, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"^image: expected at least 3 channels"):
        stand_in_clip_vision_features(torch.zeros((1, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"^tokens: must be >= 1"):
        stand_in_clip_vision_features(black, tokens=0)


def test_text_stand_in_embedding() -> None:
    from devtools.comfy_stand_ins import stand_in_text_embedding, stand_in_token_count

    emb = stand_in_text_embedding("a b c d e", text_dim=16, max_tokens=10)
    assert emb.shape == (1, 10, 16) and emb.dtype == torch.float32
    assert stand_in_token_count("a b c d e", 10) == 6
    assert bool((emb[0, :6] != 0).all()) and bool((emb[0, 6:] == 0).all())
    assert torch.equal(emb, stand_in_text_embedding("a b c d e", text_dim=16, max_tokens=10))
    assert not torch.equal(emb, stand_in_text_embedding("a b c d f", text_dim=16, max_tokens=10))
    capped = stand_in_text_embedding("w " * 50, text_dim=4, max_tokens=8)
    assert bool((capped != 0).all()), "more words than max_tokens: every row carries values"
    assert stand_in_token_count("", 5) == 1
    with pytest.raises(ValueError, match=r"^max_tokens: must be >= 1"):
        stand_in_text_embedding("x", max_tokens=0)
