"""The Segment Sampler's video file through the real server: the file it writes while sampling is the IMAGE
output's video (lossless: exactly), its VIDEO output feeds Save Video, a run stopped by a killed server or a full
disk continues from its run folder to the same video bit for bit, and a blocked destination or a run folder of
other inputs is a clear error that loses nothing.

The long video here is the tiny one of test_long_video.py cut to 42 frames: 3 chunks (2 base segments in lockstep
through the 2 shared steps, 1 transition), so a run's few VAE calls keep the file quick on two cores. Tests that
kill a server or fill its disk start servers of their own beside the session's."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from devtools.comfy_server import ComfyServer, ComfyServerError, PromptResult, comfyui_path_from_env, prepare_base_dir
from devtools.prompts import node_of_type
from posegen_core.video.writer import read_frames

from .conftest import PACK_LINK_NAME, REPO_ROOT, STAND_INS_DIR, STAND_INS_LINK_NAME
from .test_long_video import SAMPLER, TINY_LONG

FRAMES = 42  # segments of 17 with overlaps 5 and 4: base 0-16, transition 12-28, base 25-41
STEPS = 4  # the workflow's
TOTAL_STEPS = 3 * STEPS  # one progress bar: 2 base segments and 1 transition
OUTPUT, SAVE_IMAGES, SAVE_VIDEO, FOLDERS = "80", "90", "91", "92"
STEPS_LINE = re.compile(r"sampler steps run: (\d+)(?: \((\d+) of (\d+) were finished before\))?\n")
FOLDER_LINE = re.compile(r"(resumed from|finished work kept in) run folder (\S+): [\d.]+ MiB, (kept|removed)")


@pytest.fixture(scope="module")
def short_prompt() -> dict:
    prompt = json.loads(TINY_LONG.read_text(encoding="utf-8"))
    node_of_type(prompt, "PoseGenPoseSequence")["inputs"]["length"] = FRAMES  # mirror-pads the 33 driving frames
    assert prompt[SAMPLER]["inputs"]["steps"] == STEPS
    return prompt


def _video_prompt(base: dict, prefix: str, *, encoding: str = "lossless", keep: bool = False, fps: float = 0.0,
                  images: bool = False, save_video: bool = False) -> dict:
    """The short long video with its own PoseGen Video Output node in place of the workflow's.
    ``images``: Save Image on output 0; ``save_video``: Save Video on output 2 (VIDEO)."""
    prompt = copy.deepcopy(base)
    del prompt["16"]  # the workflow's Video Output
    prompt[SAMPLER]["inputs"]["output"] = [OUTPUT, 0]
    prompt[OUTPUT] = {"class_type": "PoseGenVideoOutput", "inputs": {
        "filename_prefix": prefix, "encoding": encoding, "fps": fps, "keep_run_folder": keep}}
    if images:
        prompt[SAVE_IMAGES] = {"class_type": "SaveImage",
                               "inputs": {"images": [SAMPLER, 0], "filename_prefix": f"{prefix}_png"}}
    if save_video:
        prompt[SAVE_VIDEO] = {"class_type": "SaveVideo", "inputs": {
            "video": [SAMPLER, 2], "filename_prefix": f"{prefix}_saved", "format": "mp4", "codec": "h264"}}
    return prompt


def _folders_prompt(action: str = "list", key: str = "") -> dict:
    return {FOLDERS: {"class_type": "PoseGenRunFolders", "inputs": {"action": action, "key": key}}}


def _video_file(result: PromptResult, node: str = SAMPLER, root: Path | None = None) -> Path:
    """The one mp4 a node's ui names (``root``: where the server's "/" is, for a server in its own namespace)."""
    files = result.output_files("images", node_id=node)
    if root is not None:
        files = [root / f.relative_to("/") for f in files]
    assert len(files) == 1 and files[0].suffix == ".mp4" and files[0].is_file(), files
    return files[0]


def _fps(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.streams.video[0].average_rate)


def _report(result: PromptResult) -> str:
    return result.outputs[SAMPLER]["text"][0]


def _steps(report: str) -> tuple[int, int]:
    """(steps this run ran, steps finished before it) from the report."""
    match = STEPS_LINE.search(report)
    assert match, report
    if match.group(2) is not None:
        assert int(match.group(3)) == TOTAL_STEPS, report
    return int(match.group(1)), int(match.group(2) or 0)


def _run_folder(report: str) -> tuple[str, Path, str]:
    """(how the report introduces it, path, kept/removed)."""
    match = FOLDER_LINE.search(report)
    assert match, report
    return match.group(1), Path(match.group(2)), match.group(3)


def _partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".partial" in p.name]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _error(result: PromptResult, fragment: str) -> str:
    assert result.status == "error", result.describe()
    assert result.error["node_id"] == SAMPLER and result.error["exception_type"].endswith("PoseGenInputError")
    message = result.error["exception_message"]
    assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def kept_run(comfy_server, short_prompt) -> dict:
    """One uninterrupted lossless run with Save Image on output 0, its run folder kept for the tests after it."""
    result = comfy_server.run_ok(_video_prompt(short_prompt, "files/lossless", keep=True, images=True))
    pngs = np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id=SAVE_IMAGES))])
    video = _video_file(result)
    report = _report(result)
    how, folder, kept = _run_folder(report)
    return {"result": result, "pngs": pngs, "video": video, "frames": read_frames(video), "report": report,
            "folder": folder, "introduced": how, "kept": kept}


# --- the file is the video -------------------------------------------------------------------------------------


def test_the_streamed_lossless_file_is_exactly_the_image_output(comfy_server, kept_run):
    pngs, frames, video = kept_run["pngs"], kept_run["frames"], kept_run["video"]
    assert pngs.shape == (FRAMES, 64, 64, 3)  # Save Image's PNGs: to_uint8 of the IMAGE output
    assert frames.shape == pngs.shape and np.array_equal(frames, pngs)
    assert video.parent == comfy_server.output_dir / "files" and video.name.startswith("lossless_")
    # the driving video is rendered pose frames (an IMAGE batch, no frame rate): Wan's 16 fps
    assert _fps(video) == 16.0
    report = kept_run["report"]
    assert "3 chunks (2 base, 1 transition)" in report and "lockstep" in report
    assert _steps(report) == (TOTAL_STEPS, 0)  # a fresh run: no "finished before"
    assert (kept_run["introduced"], kept_run["kept"]) == ("finished work kept in", "kept")
    assert f"video: {video} ({FRAMES} frames at 16 fps, lossless)" in report
    assert kept_run["folder"].parent == comfy_server.output_dir / "posegen_runs" and kept_run["folder"].is_dir()
    assert kept_run["result"].outputs[SAMPLER]["animated"] == [True]  # the ui's video preview
    assert not _partials(comfy_server.output_dir)


# measured on the tiny models' noise-like 64x64 frames: near-lossless mean 2.0 / max 16 levels (4:4:4 at CRF 4,
# mostly the 8-bit RGB -> YUV rounding), compact mean 17 (4:2:0 halves the colour of pixel-sized detail); the same
# video half its length out of step is about 70 levels off
@pytest.mark.parametrize(("encoding", "mean_levels", "max_levels"), [("near-lossless", 3.0, 24),
                                                                     ("compact", 24.0, 255)])
def test_lossy_encodings_continue_the_kept_run_close_to_the_pngs(comfy_server, short_prompt, kept_run, encoding,
                                                                 mean_levels, max_levels):
    """The same graph with another encoding is the same run (the key does not hold the output): it takes every
    chunk from the run folder and samples nothing. Output 0 unconnected: no IMAGE batch, the VIDEO output feeds
    Save Video. A frame rate given on Video Output is the file's."""
    prompt = _video_prompt(short_prompt, f"files/{encoding}", encoding=encoding, keep=True, fps=24.0,
                           save_video=True)
    result = comfy_server.run_ok(prompt)
    report = _report(result)
    assert _steps(report) == (0, TOTAL_STEPS)
    assert _run_folder(report) == ("resumed from", kept_run["folder"], "kept")
    assert SAMPLER not in result.progress  # not one sampler step
    video = _video_file(result)
    assert video.name.startswith(f"{encoding}_") and _fps(video) == 24.0
    frames, pngs = read_frames(video).astype(np.int16), kept_run["pngs"].astype(np.int16)
    assert frames.shape == (FRAMES, 64, 64, 3)
    diff = np.abs(frames - pngs)
    out_of_step = np.abs(frames - np.roll(pngs, FRAMES // 2, axis=0)).mean()
    print(f"{encoding}: mean {diff.mean():.3f}, max {diff.max()} levels; out of step {out_of_step:.1f}")
    assert diff.mean() < mean_levels and diff.max() <= max_levels, (diff.mean(), diff.max())
    assert diff.mean() < out_of_step / 3, (diff.mean(), out_of_step)
    saved = _video_file(result, SAVE_VIDEO)  # Save Video took the VIDEO output: a second mp4
    assert saved != video and read_frames(saved).shape == (FRAMES, 64, 64, 3)
    assert not _partials(comfy_server.output_dir)


# --- clear errors that lose nothing --------------------------------------------------------------------------------


def test_a_blocked_output_folder_fails_before_sampling(comfy_server, short_prompt, kept_run):
    """The server runs as root here, so permissions block nothing: a file where the prefix needs a folder."""
    blocker = comfy_server.output_dir / "blocker"
    blocker.write_bytes(b"not a folder")
    runs = sorted((comfy_server.output_dir / "posegen_runs").iterdir())
    before = _snapshot(kept_run["folder"])
    try:
        result = comfy_server.run(_video_prompt(short_prompt, "blocker/video"), timeout=600)
    finally:
        blocker.unlink()
    message = _error(result, str(blocker))
    assert message.startswith("filename_prefix: 'blocker/video'") and "Not a directory" in message, message
    assert SAMPLER not in result.progress  # refused before the first step
    assert sorted((comfy_server.output_dir / "posegen_runs").iterdir()) == runs  # no run folder made
    assert _snapshot(kept_run["folder"]) == before
    listing = comfy_server.run_ok(_folders_prompt()).outputs[FOLDERS]["text"][0]  # the server goes on serving
    assert f"kept {kept_run['folder'].name}: " in listing


def _foreign_manifest(folder: Path) -> None:
    manifest = folder / "run.json"
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**meta, "key": "0123456789abcdef0123"}), encoding="utf-8")


def _wrong_shape(folder: Path) -> None:
    save_file({"x": torch.zeros(1, 16, 3, 8, 8)}, str(folder / "base0.safetensors"))


@pytest.mark.parametrize(("edit", "fragment"), [
    (_foreign_manifest, "belongs to run '0123456789abcdef0123', not to this run ({key})"),
    (_wrong_shape, "holds a latent of shape (1, 16, 3, 8, 8) as 'base0', where this run makes (1, 16, 5, 8, 8)"),
], ids=["run.json of another run", "latent of another shape"])
def test_a_run_folder_of_other_inputs_is_refused_untouched(comfy_server, short_prompt, kept_run, edit, fragment):
    folder = kept_run["folder"]
    saved = {p.name: p.read_bytes() for p in folder.iterdir()}
    edit(folder)
    before = _snapshot(folder)
    try:
        # another prefix, so ComfyUI's cache does not skip the sampler (the run key holds no output settings)
        result = comfy_server.run(_video_prompt(short_prompt, f"files/foreign_{edit.__name__}"), timeout=600)
        message = _error(result, fragment.format(key=folder.name))
        assert message.startswith(f"run_folder: '{folder}'"), message
        assert _snapshot(folder) == before  # refused, not repaired nor removed
        assert not list((comfy_server.output_dir / "files").glob(f"foreign_{edit.__name__}*"))
        assert not _partials(comfy_server.output_dir)
    finally:
        for name, data in saved.items():
            (folder / name).write_bytes(data)


def test_run_folders_node_lists_and_removes_one(comfy_server, kept_run):
    folder = kept_run["folder"]
    size = sum(p.stat().st_size for p in folder.iterdir())
    listing = comfy_server.run_ok(_folders_prompt()).outputs[FOLDERS]["text"][0]
    line = next(line for line in listing.splitlines() if folder.name in line)
    assert line == f"kept {folder.name}: {size / 2**20:.1f} MiB, {kept_run['video'].name}, 64x64", listing
    unknown = comfy_server.run(_folders_prompt("remove one", "no-such-run"), timeout=120)
    assert unknown.status == "error", unknown.describe()
    assert unknown.error["exception_message"].startswith("key: 'no-such-run' is not a run folder under ")
    assert folder.is_dir()
    removed = comfy_server.run_ok(_folders_prompt("remove one", folder.name)).outputs[FOLDERS]["text"][0]
    assert f"removed {folder.name}: " in removed and not folder.exists()
    assert all(line.startswith("kept ") for line in removed.splitlines() if folder.name not in line)


# --- servers of their own: a killed server, a full disk -------------------------------------------------------------


def _own_base_dir(tmp_path_factory: pytest.TempPathFactory, comfy_base_dir: Path, name: str) -> Path:
    """A base directory of its own (database, log, output) sharing the session's models and inputs."""
    base = tmp_path_factory.mktemp(name)
    for sub in ("models", "input"):
        (base / sub).symlink_to(comfy_base_dir / sub, target_is_directory=True)
    return prepare_base_dir(base, {PACK_LINK_NAME: REPO_ROOT, STAND_INS_LINK_NAME: STAND_INS_DIR})


@pytest.fixture
def own_server(tmp_path_factory, comfy_base_dir, comfy_models) -> Iterator[ComfyServer]:
    server = ComfyServer(_own_base_dir(tmp_path_factory, comfy_base_dir, "comfy_killed"),
                         comfyui_path=comfyui_path_from_env(), log_name="killed.log")
    try:
        yield server.start()
    finally:
        server.stop()


def _kill_when_a_partial_video_appears(server: ComfyServer, folder: Path) -> tuple[threading.Thread, threading.Event]:
    """SIGKILL the server as soon as its video writer has begun a file in ``folder`` (polled from a thread)."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            if _partials(folder):
                server.process.kill()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher, done


def test_a_killed_server_continues_the_run_to_the_same_video(own_server, short_prompt, kept_run):
    """SIGKILL in the middle of the transition (both base segments finished), then again once the video file is
    begun: each time, queued again on the restarted server, the run takes the finished work from its run folder and
    samples only the steps not finished (after the shared steps nothing is sampled twice); the video is the one the
    uninterrupted run wrote, bit for bit, and the killed writer's partial file is gone."""
    server = own_server
    prompt = _video_prompt(short_prompt, "files/killed")
    runs, files = server.output_dir / "posegen_runs", server.output_dir / "files"
    killed_at = []

    def kill_mid_transition(message) -> None:
        # progress 9..12 are the transition's steps: at 10 the state after its first step is saved
        if (message.type == "progress" and message.data.get("node") == SAMPLER and not killed_at
                and message.data.get("value", 0) >= 2 * STEPS + 2):
            killed_at.append(int(message.data["value"]))
            server.process.kill()

    with pytest.raises(ComfyServerError):
        server.run(prompt, timeout=600, on_message=kill_mid_transition)
    assert killed_at and server.process.wait(30) == -9
    (folder,) = runs.iterdir()
    entries = sorted(p.name for p in folder.glob("*.safetensors"))
    assert {"base0.safetensors", "base2.safetensors"} <= set(entries), entries
    assert "transition1.safetensors" not in entries and any(e.startswith("transition1.state") for e in entries)
    assert not _partials(files)  # frames go to the file once the transition is made
    server.stop()

    # again: the rest of the transition is sampled, and the server is killed once the video file is begun
    server.start()
    progress = []
    watcher, done = _kill_when_a_partial_video_appears(server, files)
    try:
        with pytest.raises(ComfyServerError):
            server.run(prompt, timeout=600, on_message=lambda m: progress.append(m.data["value"])
                       if m.type == "progress" and m.data.get("node") == SAMPLER else None)
    finally:
        done.set()
        watcher.join(10)
    assert server.process.wait(30) == -9
    # the bar starts at the steps finished before; only the transition's remaining steps ran
    before = progress[0] - 1
    assert killed_at[0] - 1 <= before < TOTAL_STEPS and progress == list(range(before + 1, TOTAL_STEPS + 1)), (
        killed_at, progress)
    assert "transition1.safetensors" in {p.name for p in folder.glob("*.safetensors")}
    stale = _partials(files)
    assert len(stale) == 1, stale  # a killed writer cannot remove its file
    server.stop()

    server.start()
    result = server.run_ok(prompt)
    report = _report(result)
    assert _steps(report) == (0, TOTAL_STEPS), report  # everything was finished: only decoded and written
    assert _run_folder(report) == ("resumed from", folder, "removed")
    video = _video_file(result)
    assert video.name == stale[0].name.split(".")[1] + ".mp4"  # the name the killed run was writing
    assert np.array_equal(read_frames(video), kept_run["frames"])  # the uninterrupted run's video, bit for bit
    assert not folder.exists() and not list(runs.iterdir())
    assert not _partials(server.output_dir)


def _namespaces_work() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


class _SmallDiskServer(ComfyServer):
    """A server whose output folder is a tmpfs of ``size`` in a private user and mount namespace (no root needed):
    from outside, its files are under ``root`` (/proc/<pid>/root), and :meth:`grow` gives the disk more room."""

    def __init__(self, *args, size: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.size = size

    def command(self, port: int) -> list[str]:
        mount = 'mount -t tmpfs -o size="$1" tmpfs "$0" && shift && exec "$@"'
        return ["unshare", "-rm", "sh", "-c", mount, str(self.output_dir), self.size, *super().command(port)]

    @property
    def root(self) -> Path:
        return Path(f"/proc/{self.process.pid}/root")

    def seen(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def grow(self, size: str) -> None:
        subprocess.run(["nsenter", "-t", str(self.process.pid), "-U", "-m", "--preserve-credentials", "mount", "-o",
                        f"remount,size={size}", str(self.output_dir)], check=True, capture_output=True, timeout=30)


# Finished run-folder entries are 24 KiB on tmpfs (a 20 KiB latent), a segment's pose and hand latents 44 KiB. On
# 200 KiB the shared steps fit (the manifest, both segments' conditioning, the anchor's two shared-step states and
# the other's latest: 164 KiB) and the anchor's third step (188), not its last state (212).
SMALL_DISK = "200k"


@pytest.mark.skipif(not _namespaces_work(), reason="needs unshare -rm and nsenter (user and mount namespaces)")
def test_a_full_disk_keeps_the_finished_work_and_the_run_continues(tmp_path_factory, comfy_base_dir, comfy_models,
                                                                    short_prompt, kept_run):
    base = _own_base_dir(tmp_path_factory, comfy_base_dir, "comfy_full_disk")
    output = base / "small_output"
    output.mkdir()
    server = _SmallDiskServer(base, comfyui_path=comfyui_path_from_env(), log_name="full_disk.log",
                              output_directory=output, size=SMALL_DISK)
    prompt = _video_prompt(short_prompt, "files/full_disk")
    with server:
        result = server.run(prompt, timeout=600)
        message = _error(result, "(No space left on device)")
        assert message.startswith("run_folder: cannot write to the run folder '"), message
        runs = server.seen(output / "posegen_runs")
        (folder,) = runs.iterdir()
        kept = sorted(p.name for p in folder.glob("*.safetensors"))
        assert kept and all(p.stat().st_size > 0 for p in folder.iterdir()), kept  # what was finished is there
        assert not _partials(server.seen(output)), sorted(folder.iterdir())
        assert not (server.seen(output) / "files").exists() or not list((server.seen(output) / "files").iterdir())
        listing = server.run_ok(_folders_prompt()).outputs[FOLDERS]["text"][0]  # the server goes on serving
        assert f"kept {folder.name}: " in listing

        server.grow("8m")  # room made: the same graph again continues
        result = server.run_ok(prompt)
        report = _report(result)
        run, before = _steps(report)
        # lockstep: a step whose anchor state was saved before the other segment's may be run again
        assert before > 0 and TOTAL_STEPS - before <= run <= TOTAL_STEPS - before + 1, report
        print(f"full disk: kept {kept}; then {run} steps run, {before} finished before")
        assert np.array_equal(read_frames(_video_file(result, root=server.root)), kept_run["frames"])
        assert not folder.exists() and not _partials(server.seen(output))
