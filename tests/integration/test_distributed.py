"""The distributed Segment Sampler through the real server, with real Ray workers on the CPU: the same video as
the single-process run bit for bit (also with a LoRA applied in the graph, and with a worker killed mid-chunk),
an interrupt that stops every worker, and clear errors (workers that cannot make the models, a cluster that
cannot be reached, more workers than the cluster holds)."""

from __future__ import annotations

import copy
import gc
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from devtools.comfy_server import ComfyServer, PromptResult
from devtools.prompts import node_of_type
from devtools.tiny_models import tiny_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_LONG = REPO_ROOT / "tests" / "workflows" / "posegen_long_video_tiny.api.json"
SAMPLER, DISTRIBUTED, LORA = "15", "95", "96"
FRAMES = 60  # segments of 17 (overlaps 5 and 4): 3 base segments, 2 transitions
LORA_FILE = "posegen_tiny_test_lora.safetensors"


@pytest.fixture(scope="module")
def long_prompt() -> dict:
    prompt = json.loads(TINY_LONG.read_text(encoding="utf-8"))
    node_of_type(prompt, "PoseGenPoseSequence")["inputs"]["length"] = FRAMES
    return prompt


def _prompt(prompt: dict, tag: str, workers: int | None, cluster: str = "local", seed: int = 42) -> dict:
    prompt = copy.deepcopy(prompt)
    prompt[SAMPLER]["inputs"]["seed"] = seed
    prompt["90"] = {"class_type": "SaveImage", "inputs": {"images": [SAMPLER, 0], "filename_prefix": f"dist_{tag}"}}
    if workers:
        prompt[DISTRIBUTED] = {"class_type": "PoseGenDistributed",
                               "inputs": {"cluster": cluster, "workers": workers, "gpus_per_worker": 0.0}}
        prompt[SAMPLER]["inputs"]["distributed"] = [DISTRIBUTED, 0]
    return prompt


def _frames(result: PromptResult) -> np.ndarray:
    return np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id="90"))])


def _report(result: PromptResult) -> str:
    return result.outputs[SAMPLER]["text"][0]


def _worker_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].startswith("ray::WorkerHost"):
            found.append(process)
    return found


@pytest.fixture(scope="module")
def single(comfy_server, long_prompt) -> np.ndarray:
    return _frames(comfy_server.run_ok(_prompt(long_prompt, "single", None)))


def test_two_workers_give_the_single_process_video(comfy_server, long_prompt, single):
    distributed = comfy_server.run_ok(_prompt(long_prompt, "two", 2), timeout=1200)
    assert np.array_equal(single, _frames(distributed))
    report = _report(distributed)
    # 2 groups through the shared steps (the second beside its own recomputation of the anchor's 2), 3 finishes,
    # 2 transitions: 5 chunks x 4 steps + 2
    steps = long_prompt[SAMPLER]["inputs"]["steps"]
    assert f"distributed: 7 jobs, {5 * steps + 2} sampler steps on the workers (2 of them the anchor" in report
    assert distributed.progress[SAMPLER][-1] == (5 * steps + 2, 5 * steps + 2)  # one bar over all of it
    # the driver decoded nothing: all 5 chunks' frames came from Ray's object store
    assert "decoded frames: 5 chunks taken from the workers" in report and ", 0 decoded here" in report, report
    assert len(_worker_processes()) == 2  # kept for the next prompt, models loaded


def _with_lora(prompt: dict) -> dict:
    """Core LoraLoaderModelOnly between the base model's loader and the sampler."""
    prompt = copy.deepcopy(prompt)
    prompt[LORA] = {"class_type": "LoraLoaderModelOnly",
                    "inputs": {"model": prompt[SAMPLER]["inputs"]["base_model"], "lora_name": LORA_FILE,
                               "strength_model": 1.0}}
    prompt[SAMPLER]["inputs"]["base_model"] = [LORA, 0]
    return prompt


def _write_lora(models: Path) -> None:
    dim, rank = tiny_config().dim, 4
    generator = torch.Generator().manual_seed(3)
    tensors = {}
    for block in range(tiny_config().num_layers):
        for part in ("q", "k", "v", "o"):
            key = f"diffusion_model.blocks.{block}.self_attn.{part}"
            tensors[f"{key}.lora_A.weight"] = torch.randn(rank, dim, generator=generator) * 0.3
            tensors[f"{key}.lora_B.weight"] = torch.randn(dim, rank, generator=generator) * 0.3
    (models / "loras").mkdir(exist_ok=True)
    save_file(tensors, str(models / "loras" / LORA_FILE))


def test_a_lora_in_the_graph_changes_the_distributed_video_as_it_changes_the_single_one(
        comfy_server, comfy_models, long_prompt, single):
    _write_lora(comfy_models)
    with_lora = _frames(comfy_server.run_ok(_with_lora(_prompt(long_prompt, "lora_single", None))))
    distributed = _frames(comfy_server.run_ok(_with_lora(_prompt(long_prompt, "lora_two", 2)), timeout=1200))
    assert not np.array_equal(with_lora, single)
    assert np.array_equal(with_lora, distributed)


def test_a_worker_killed_mid_chunk_loses_nothing(comfy_server, long_prompt, single):
    killed = []

    def kill_a_running_worker(message) -> None:
        if killed or message.type != "progress" or message.data.get("node") != SAMPLER:
            return
        for process in _worker_processes():
            if process.cmdline()[0].startswith("ray::WorkerHost.run"):
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)
                return

    result = comfy_server.run(_prompt(long_prompt, "killed", 2), timeout=1500, on_message=kill_a_running_worker)
    result.raise_for_status()
    assert killed
    assert np.array_equal(single, _frames(result))
    report = _report(result)
    assert "rerun: " in report and "was lost" in report, report


def _server_rss(server: ComfyServer) -> int:
    gc.collect()
    return psutil.Process(server.process.pid).memory_info().rss


def test_interrupt_stops_every_worker(comfy_server, long_prompt):
    comfy_server.run_ok(_prompt(long_prompt, "warm", 2, seed=5), timeout=1200)
    baseline = _server_rss(comfy_server)
    prompt = _prompt(long_prompt, "interrupted", 2, seed=6)
    prompt[SAMPLER]["inputs"]["steps"] = 30
    sent = []

    def interrupt_while_both_work(message) -> None:
        if sent or message.type != "progress" or message.data.get("node") != SAMPLER:
            return
        running = [p for p in _worker_processes() if p.cmdline()[0].startswith("ray::WorkerHost.run")]
        if len(running) == 2 and message.data.get("value", 0) > 4:
            sent.append(comfy_server.interrupt())

    result = comfy_server.run(prompt, timeout=1200, on_message=interrupt_while_both_work)
    assert result.status == "interrupted", result.describe()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(p.cmdline()[0].startswith("ray::WorkerHost.run")
                                              for p in _worker_processes()):
        time.sleep(0.5)
    assert not [p for p in _worker_processes() if p.cmdline()[0].startswith("ray::WorkerHost.run")]
    assert _server_rss(comfy_server) < baseline * 1.25 + 300 * 2**20
    assert comfy_server.run_ok(_prompt(long_prompt, "after", 2, seed=5), timeout=1200).ok


def _error(comfy_server, prompt) -> str:
    result = comfy_server.run(prompt, timeout=600)
    assert result.status == "error", result.describe()
    return result.describe()


def test_workers_that_cannot_make_the_models_fail_the_run_at_once(comfy_server, long_prompt):
    prompt = _prompt(long_prompt, "no_models", 2)
    prompt["97"] = {"class_type": "PoseGenStandInFailOnWorkers",
                    "inputs": {"model": prompt[SAMPLER]["inputs"]["cond_model"], "message": "cond file missing here"}}
    prompt[SAMPLER]["inputs"]["cond_model"] = ["97", 0]
    started = time.monotonic()
    message = _error(comfy_server, prompt)
    assert "could not make the models" in message and "cond file missing here" in message, message
    assert "PoseGenStandInFailOnWorkers" in message and "worker " in message
    assert time.monotonic() - started < 300
    assert comfy_server.run_ok(_prompt(long_prompt, "after_error", 2), timeout=1200).ok


@pytest.mark.parametrize("cluster, fragment", [
    ("127.0.0.1:9", "cluster: '127.0.0.1:9' cannot be reached"),
    ("no-port-here", "cluster: 'no-port-here' is not a Ray address"),
])
def test_a_cluster_that_cannot_be_reached_is_a_clear_error(comfy_server, long_prompt, cluster, fragment):
    started = time.monotonic()
    assert fragment in _error(comfy_server, _prompt(long_prompt, "unreachable", 2, cluster=cluster))
    assert time.monotonic() - started < 60


def test_more_workers_than_the_cluster_holds_is_a_clear_error(comfy_server, long_prompt):
    prompt = _prompt(long_prompt, "too_many", 2)
    prompt[DISTRIBUTED]["inputs"]["gpus_per_worker"] = 1.0
    assert "workers: 2 workers need 2 GPUs; the cluster has 0" in _error(comfy_server, prompt)
