"""The pose preview in a real headless Chromium, against the real ComfyUI frontend served by a test server.

A workflow is loaded into the canvas (``app.loadGraphData``), queued through the UI (``app.queuePrompt``), and the
node that produced a pose sequence must then show an animated skeleton (js/posegen_pose_preview.js): its status
line, limbs drawn in the right places, frames advancing, and no trace of the widget in the saved workflow.

:func:`watch_pose_preview` takes any workflow (API prompt dict, ``*.api.json`` or UI ``*.json``) and the id of the
node to watch, so the same checks can run on the pack's real example workflow once it has a pose node.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image

from devtools.browser import BrowserUnavailable, HeadlessBrowser, artifacts_dir, find_chromium
from devtools.comfy_server import ComfyServer
from devtools.workflow_ui import api_to_ui

WIDGET_NAME = "posegen_pose_preview"  # js/posegen_pose_preview.js
EXTENSION_NAME = "posegen.posePreview"
# Settings stored on the server before the page loads: no template browser over the canvas on first start.
FRONTEND_SETTINGS = {"Comfy.TutorialCompleted": True}

STAND_IN_PROMPT = {
    "1": {
        "class_type": "PoseGenStandInPosePreview",
        "inputs": {"frames": 60, "fps": 20.0, "width": 768, "height": 512, "people": 2},
    }
}
STAND_IN_NODE = "1"


@dataclass
class PreviewObservation:
    """What the browser showed for one node's pose preview."""

    status: str
    payload: dict[str, Any]  # width, height, fps, frames, stride, people, edges, colors (no keypoints)
    frame: int  # data-frame when the canvas picture was read
    frame_keypoints: list[list[float]]  # keypoints[frame]: [person][x, y, c, ...]
    drawn_segments: int  # data-drawn-segments at that moment
    canvas: Image.Image  # the preview canvas's own pixels (toDataURL) at that moment
    frames_seen: list[tuple[float, int]]  # (seconds since first look, data-frame) over the sampling period
    widgets_values_before: Any
    widgets_values_after: Any
    api_inputs_before: dict[str, Any]
    api_inputs_after: dict[str, Any]
    widget_names: list[str]
    screenshot: Path
    timings: dict[str, float] = field(default_factory=dict)


def _load_workflow(workflow: Mapping[str, Any] | Path, server: ComfyServer) -> dict[str, Any]:
    """A UI workflow from an API prompt, an ``*.api.json`` file, or a UI ``*.json`` file (kept as it is)."""
    data = json.loads(Path(workflow).read_text(encoding="utf-8")) if isinstance(workflow, Path) else dict(workflow)
    if "nodes" in data and "links" in data:
        return data
    return api_to_ui(data, server.object_info())


def _store_settings(server: ComfyServer, settings: Mapping[str, Any]) -> None:
    with requests.Session() as http:
        http.trust_env = False  # 127.0.0.1 must not go through $http_proxy
        http.post(f"{server.url}/settings", json=dict(settings), timeout=10).raise_for_status()


READY_JS = """(name) => !!(window.app && app.graph && app.canvas && app.extensions?.some((e) => e.name === name))"""

LOAD_JS = """async ({workflow, nodeId}) => {
    await app.loadGraphData(workflow);
    const node = app.graph.getNodeById(nodeId);
    if (!node) return null;
    // zoom 1 with the node on screen (clear of the workflow menu at the top left and the minimap at the bottom
    // right), in full quality: DOM widgets are hidden when zoomed out
    app.canvas.ds.scale = 1;
    app.canvas.ds.offset = [140 - node.pos[0], 180 - node.pos[1]];
    app.canvas.setDirty(true, true);
    const saved = app.graph.serialize().nodes.find((n) => n.id === nodeId);
    const prompt = await app.graphToPrompt();
    return {widgets_values: saved?.widgets_values ?? null, inputs: prompt.output[String(nodeId)]?.inputs ?? null};
}"""

WAIT_JS = """({nodeId, widget}) => {
    const node = app.graph.getNodeById(nodeId);
    const canvas = node?.widgets?.find((w) => w.name === widget)?.element?.querySelector("canvas");
    if (canvas && Number(canvas.dataset.frame) >= 0) return "shown";
    if (app.lastExecutionError) return "execution error: " + JSON.stringify(app.lastExecutionError);
    if (app.lastNodeErrors && Object.keys(app.lastNodeErrors).length) {
        return "node errors: " + JSON.stringify(app.lastNodeErrors);
    }
    return false;
}"""

# One JS task: the frame number, the drawn-segments count and the picture all belong to the same drawn frame.
READ_JS = """({nodeId, widget}) => {
    const node = app.graph.getNodeById(nodeId);
    const w = node.widgets.find((x) => x.name === widget);
    const canvas = w.element.querySelector("canvas");
    const payload = w.posegenPreview.payload;
    const frame = Number(canvas.dataset.frame);
    const {keypoints, ...meta} = payload;
    return {
        frame, drawn: Number(canvas.dataset.drawnSegments), png: canvas.toDataURL("image/png"),
        frameKeypoints: keypoints[frame], payload: meta,
        status: w.element.querySelector(".posegen-pose-preview-status").textContent,
        widgetNames: node.widgets.map((x) => x.name),
    };
}"""

FRAME_JS = """({nodeId, widget}) => Number(app.graph.getNodeById(nodeId).widgets.find((x) => x.name === widget)
    .element.querySelector("canvas").dataset.frame)"""

AFTER_JS = """async (nodeId) => {
    const saved = app.graph.serialize().nodes.find((n) => n.id === nodeId);
    const prompt = await app.graphToPrompt();
    return {widgets_values: saved?.widgets_values ?? null, inputs: prompt.output[String(nodeId)]?.inputs ?? null};
}"""

# The node on screen, title bar included, in page (CSS) pixels.
NODE_BOX_JS = """(nodeId) => {
    const node = app.graph.getNodeById(nodeId);
    const [x, y, w, h] = node.boundingRect;
    const rect = app.canvas.canvas.getBoundingClientRect();
    const [left, top] = app.canvas.ds.convertOffsetToCanvas([x, y]);
    const scale = app.canvas.ds.scale;
    return {x: rect.left + left, y: rect.top + top, width: w * scale, height: h * scale};
}"""


def watch_pose_preview(
    browser: HeadlessBrowser,
    server: ComfyServer,
    workflow: Mapping[str, Any] | Path,
    node_id: str | int,
    *,
    run_timeout_s: float = 30.0,
    sample_s: float = 1.0,
    artifact_name: str = "pose_preview",
) -> PreviewObservation:
    """Open the frontend, load ``workflow``, queue it through the UI, wait for ``node_id``'s pose preview and
    record what it shows; saves a screenshot of the node as ``<artifacts>/<artifact_name>.png``."""
    page = browser.page
    nid = int(node_id)
    timings: dict[str, float] = {}
    ui_workflow = _load_workflow(workflow, server)
    _store_settings(server, FRONTEND_SETTINGS)

    start = time.monotonic()
    page.goto(server.url)
    page.wait_for_function(READY_JS, arg=EXTENSION_NAME, timeout=60_000)
    timings["frontend_ready_s"] = time.monotonic() - start

    before = page.evaluate(LOAD_JS, {"workflow": ui_workflow, "nodeId": nid})
    assert before is not None, f"node {nid} is not in the loaded workflow"
    start = time.monotonic()
    # queuePrompt's own result is `!lastNodeErrors`, false even for the server's empty {}: read the errors instead
    node_errors = page.evaluate("async () => { await app.queuePrompt(0); return app.lastNodeErrors ?? {}; }")
    assert node_errors == {}, f"the server rejected the workflow: {node_errors}"
    state = page.wait_for_function(WAIT_JS, arg={"nodeId": nid, "widget": WIDGET_NAME},
                                   timeout=run_timeout_s * 1000).json_value()
    assert state == "shown", state
    timings["run_to_preview_s"] = time.monotonic() - start

    frames_seen: list[tuple[float, int]] = []
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < sample_s:
        frames_seen.append((elapsed, page.evaluate(FRAME_JS, {"nodeId": nid, "widget": WIDGET_NAME})))
        page.wait_for_timeout(50)
    frames_seen.append((time.monotonic() - start, page.evaluate(FRAME_JS, {"nodeId": nid, "widget": WIDGET_NAME})))

    shown = page.evaluate(READ_JS, {"nodeId": nid, "widget": WIDGET_NAME})
    after = page.evaluate(AFTER_JS, nid)
    box = page.evaluate(NODE_BOX_JS, nid)
    pad = 8
    clip = {"x": max(0.0, box["x"] - pad), "y": max(0.0, box["y"] - pad),
            "width": box["width"] + 2 * pad, "height": box["height"] + 2 * pad}
    screenshot = artifacts_dir() / f"{artifact_name}.png"
    page.screenshot(path=str(screenshot), clip=clip)
    png = base64.b64decode(shown["png"].split(",", 1)[1])
    return PreviewObservation(
        status=shown["status"],
        payload=shown["payload"],
        frame=shown["frame"],
        frame_keypoints=shown["frameKeypoints"],
        drawn_segments=shown["drawn"],
        canvas=Image.open(io.BytesIO(png)).convert("RGB"),
        frames_seen=frames_seen,
        widgets_values_before=before["widgets_values"],
        widgets_values_after=after["widgets_values"],
        api_inputs_before=before["inputs"],
        api_inputs_after=after["inputs"],
        widget_names=shown["widgetNames"],
        screenshot=screenshot,
        timings=timings,
    )


# --- checks of what was seen, independent of the extension's own helpers -----------------------------------------


def _present(flat: list[float], index: int) -> tuple[float, float] | None:
    at = 3 * index
    if at + 2 >= len(flat) or not flat[at + 2] > 0:
        return None
    return flat[at], flat[at + 1]


def expected_segments(frame: list[list[float]], edges: list[list[int]]) -> list[tuple[int, tuple, tuple]]:
    """(edge index, a, b) for every limb of every person whose two endpoints have confidence > 0."""
    out = []
    for person in frame:
        for i, (a, b) in enumerate(edges):
            pa, pb = _present(person, a), _present(person, b)
            if pa and pb:
                out.append((i, pa, pb))
    return out


def fit(src_w: float, src_h: float, dst_w: float, dst_h: float) -> tuple[float, float, float]:
    """(offset x, offset y, scale) of the source letterboxed into the destination, centred."""
    scale = min(dst_w / src_w, dst_h / src_h)
    return (dst_w - src_w * scale) / 2, (dst_h - src_h * scale) / 2, scale


def _window(image: Image.Image, x: float, y: float, radius: int) -> list[tuple[int, int, int]]:
    pixels = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            px, py = round(x) + dx, round(y) + dy
            if 0 <= px < image.width and 0 <= py < image.height:
                pixels.append(image.getpixel((px, py)))
    return pixels


def _color_distance(a: tuple[int, ...], b: list[int]) -> float:
    return max(abs(int(x) - int(y)) for x, y in zip(a, b, strict=True))


def assert_limbs_drawn(obs: PreviewObservation) -> dict[str, Any]:
    """Every limb of the shown frame has its colour at its midpoint; where no limb is, the canvas is black."""
    payload, image = obs.payload, obs.canvas
    segments = expected_segments(obs.frame_keypoints, payload["edges"])
    assert segments, "the shown frame has no limb with both endpoints present"
    assert obs.drawn_segments == len(segments), (obs.drawn_segments, len(segments))
    ox, oy, scale = fit(payload["width"], payload["height"], image.width, image.height)
    missing, off_colour = [], []
    # only limbs whose midpoint is on the pose canvas can be seen (a half-body reference sends legs off it)
    visible = [(edge, a, b) for edge, a, b in segments
               if 0 <= (a[0] + b[0]) / 2 < payload["width"] and 0 <= (a[1] + b[1]) / 2 < payload["height"]]
    for edge, (ax, ay), (bx, by) in visible:
        mx, my = ox + (ax + bx) / 2 * scale, oy + (ay + by) / 2 * scale
        window = _window(image, mx, my, 2)
        if not any(max(p) > 60 for p in window):
            missing.append((edge, round(mx), round(my)))
        elif min(_color_distance(p, payload["colors"][edge]) for p in window) > 90:
            off_colour.append((edge, round(mx), round(my)))  # another limb crossing on top may explain a few
    assert not missing, f"black canvas where these limbs should be (edge, x, y): {missing}"
    assert len(off_colour) <= len(visible) // 5, f"limbs not in their payload colour (edge, x, y): {off_colour}"
    # Black background: the canvas corners (letterbox or empty pose canvas) and most of the picture.
    for corner in ((0, 0), (image.width - 1, 0), (0, image.height - 1), (image.width - 1, image.height - 1)):
        assert max(image.getpixel(corner)) < 20, f"canvas corner {corner} is {image.getpixel(corner)}, not black"
    lit = float((np.asarray(image).max(axis=2) > 60).mean())
    assert 0.001 < lit < 0.25, f"{lit:.1%} of the canvas is lit"
    return {"segments": len(segments), "visible": len(visible), "lit_fraction": lit, "scale": scale}


def _rerun_and_wait(browser: HeadlessBrowser, node_id: str | int, timeout_s: float = 30.0) -> None:
    """Queue the loaded workflow again and wait until the node's preview got the new payload."""
    page, nid = browser.page, int(node_id)
    widget = f"app.graph.getNodeById({nid}).widgets.find((w) => w.name === {json.dumps(WIDGET_NAME)})"
    page.evaluate(f"async () => {{ window.__posegenStart = {widget}.posegenPreview.start; "
                  "await app.queuePrompt(0); }")
    page.wait_for_function(f"() => {widget}.posegenPreview.start !== window.__posegenStart",
                           timeout=timeout_s * 1000)


def _frames_off_and_on_screen(browser: HeadlessBrowser, node_id: str | int) -> tuple[list[int], list[int]]:
    """data-frame over 0.8 s with the node scrolled off screen, then over 0.8 s back on screen."""
    page, nid = browser.page, int(node_id)
    arg = {"nodeId": nid, "widget": WIDGET_NAME}
    canvas = f"app.graph.getNodeById({nid}).widgets.find((w) => w.name === {json.dumps(WIDGET_NAME)})" \
             ".element.querySelector('canvas')"

    def sample(visible: bool) -> list[int]:
        # the frontend hides/shows DOM widgets on its next canvas draw; the observer reacts a frame later
        page.wait_for_function(f"() => {canvas}.checkVisibility() === {json.dumps(visible)}", timeout=10_000)
        page.wait_for_timeout(250)
        frames = []
        for _ in range(8):
            frames.append(page.evaluate(FRAME_JS, arg))
            page.wait_for_timeout(100)
        return frames

    move = """([dx]) => { app.canvas.ds.offset[0] += dx; app.canvas.setDirty(true, true); }"""
    page.evaluate(move, [-5000])
    paused = sample(False)
    page.evaluate(move, [5000])
    return paused, sample(True)


# --- the test ----------------------------------------------------------------------------------------------------


@pytest.fixture
def headless_browser() -> Iterator[HeadlessBrowser]:
    try:
        if find_chromium() is None:
            raise BrowserUnavailable("no Chromium found")
        browser = HeadlessBrowser().start()
    except BrowserUnavailable as exc:
        # ./scripts/bootstrap.sh installs Debian's chromium (as root); without it this test cannot pass
        pytest.fail(f"no headless browser: {exc}; install Debian's chromium (apt-get install chromium)",
                    pytrace=False)
    try:
        yield browser
    finally:
        browser.close()


@pytest.mark.slow
def test_pose_preview_animates_on_the_node(
    comfy_server: ComfyServer, headless_browser: HeadlessBrowser, record_property: Any
) -> None:
    started = time.monotonic()
    try:
        obs = watch_pose_preview(headless_browser, comfy_server, STAND_IN_PROMPT, STAND_IN_NODE,
                                 artifact_name="pose_preview_stand_in")
        print(f"pose preview screenshot: {obs.screenshot}")
        record_property("screenshot", str(obs.screenshot))

        # status line: 60 frames at 20 fps, two people
        assert obs.status == "60 frames · 20 fps · 2 people"
        assert obs.payload["frames"] == 60 and obs.payload["stride"] == 1 and obs.payload["people"] == 2

        # limbs: body only (feet/face/hands missing in the stand-in), 17 limbs per person
        drawn = assert_limbs_drawn(obs)
        assert drawn["segments"] == 2 * 17

        # animation: ~20 frames per second; a slow, loaded machine may drop frames, but it must move
        first, last = obs.frames_seen[0], obs.frames_seen[-1]
        advanced = (last[1] - first[1]) % 60
        distinct = len({f for _, f in obs.frames_seen})
        assert advanced >= 5 and distinct >= 4, f"data-frame barely moved: {obs.frames_seen}"
        assert advanced <= 20 * (last[0] - first[0]) + 6, f"animation runs faster than 20 fps: {obs.frames_seen}"

        # the preview is display-only: same widgets_values and API inputs as before it appeared
        assert WIDGET_NAME in obs.widget_names
        assert obs.widgets_values_before == [60, 20.0, 768, 512, 2]
        assert obs.widgets_values_after == obs.widgets_values_before
        assert obs.api_inputs_after == obs.api_inputs_before
        assert WIDGET_NAME not in obs.api_inputs_after

        # a second run updates the same widget
        _rerun_and_wait(headless_browser, STAND_IN_NODE)
        names = headless_browser.page.evaluate("(id) => app.graph.getNodeById(id).widgets.map((w) => w.name)",
                                               int(STAND_IN_NODE))
        assert names.count(WIDGET_NAME) == 1, names

        # off screen (the frontend hides the widget) the animation pauses; back on screen it goes on
        paused, resumed = _frames_off_and_on_screen(headless_browser, STAND_IN_NODE)
        assert len(set(paused)) == 1, f"the animation kept drawing off screen: {paused}"
        assert len(set(resumed)) > 1, f"the animation did not resume: {resumed}"

        ours = [line for line in headless_browser.console if "posegen" in line.lower()
                and line.startswith(("[error]", "[pageerror]", "[warning]"))]
        assert not ours, "\n".join(ours)

        print(f"timings: launch {headless_browser.timings['launch_s']:.1f}s, " +
              ", ".join(f"{k} {v:.1f}s" for k, v in obs.timings.items()) +
              f", total {time.monotonic() - started:.1f}s; frames seen {[f for _, f in obs.frames_seen]}")
    except BaseException:
        failure_shot = artifacts_dir() / "pose_preview_failure_page.png"
        try:
            headless_browser.page.screenshot(path=str(failure_shot))
            print(f"page screenshot at failure: {failure_shot}")
        except Exception as exc:  # the page may be gone; the console log is still worth printing
            print(f"no page screenshot: {exc}")
        print("browser console:\n" + headless_browser.console_text())
        raise


POSE_EXAMPLE = Path(__file__).resolve().parents[2] / "workflows" / "posegen_pose_retarget_render.json"
RETARGET_NODE = "5"


@pytest.mark.slow
def test_pose_example_workflow_preview_in_the_browser(
    comfy_server: ComfyServer, headless_browser: HeadlessBrowser, record_property: Any
) -> None:
    """The shipped example workflow (keypoints -> retarget -> render), as a user drags it in and presses Run:
    the retarget node plays the retargeted motion on the reference's canvas."""
    from .conftest import DRIVING_FRAMES

    try:
        obs = watch_pose_preview(headless_browser, comfy_server, POSE_EXAMPLE, RETARGET_NODE, run_timeout_s=120.0,
                                 artifact_name="pose_preview_example_workflow")
        print(f"pose preview screenshot: {obs.screenshot}")
        record_property("screenshot", str(obs.screenshot))
        assert obs.status == f"{DRIVING_FRAMES} frames · 30 fps · 1 person"
        assert (obs.payload["width"], obs.payload["height"]) == (512, 512)  # the reference photo's canvas
        drawn = assert_limbs_drawn(obs)
        assert drawn["segments"] >= 10 and drawn["visible"] >= 8  # the body (no face/hands in the driving poses)
        distinct = len({f for _, f in obs.frames_seen})
        assert distinct >= 4, f"data-frame barely moved: {obs.frames_seen}"
        assert obs.widgets_values_after == obs.widgets_values_before
    except BaseException:
        print("browser console:\n" + headless_browser.console_text())
        raise
