import assert from "node:assert/strict";
import { test } from "node:test";

import {
  backingSize,
  DEFAULT_FPS,
  edgeColor,
  effectiveFps,
  fitRect,
  formatFps,
  frameDurationMs,
  frameIndex,
  frameShapes,
  personJoints,
  personSegments,
  statusText,
} from "../../js/posegen_pose_draw.js";

test("fit keeps the aspect ratio and centres a tall source in a wide box", () => {
  const fit = fitRect(512, 768, 400, 300); // limited by height: scale 300/768
  assert.equal(fit.scale, 300 / 768);
  assert.equal(fit.height, 300);
  assert.ok(Math.abs(fit.width - 200) < 1e-9);
  assert.equal(fit.y, 0);
  assert.ok(Math.abs(fit.x - 100) < 1e-9); // (400 - 200) / 2
  assert.ok(Math.abs(fit.width / fit.height - 512 / 768) < 1e-12);
});

test("fit centres a wide source in a tall box and scales up small sources", () => {
  const fit = fitRect(100, 50, 300, 600);
  assert.deepEqual(fit, { x: 0, y: 225, width: 300, height: 150, scale: 3 });
  assert.deepEqual(fitRect(64, 64, 200, 200), { x: 0, y: 0, width: 200, height: 200, scale: 200 / 64 });
});

test("fit of an empty source or box draws nothing", () => {
  for (const args of [[0, 10, 100, 100], [10, 10, 0, 100], [10, NaN, 100, 100], [undefined, 10, 100, 100]]) {
    assert.deepEqual(fitRect(...args), { x: 0, y: 0, width: 0, height: 0, scale: 0 });
  }
});

test("frame index follows elapsed time at the sequence's fps and loops", () => {
  assert.equal(frameIndex(0, 20, 60), 0);
  assert.equal(frameIndex(49.9, 20, 60), 0); // a frame lasts 50 ms at 20 fps
  assert.equal(frameIndex(50, 20, 60), 1);
  assert.equal(frameIndex(1000, 20, 60), 20);
  assert.equal(frameIndex(2999, 20, 60), 59);
  assert.equal(frameIndex(3000, 20, 60), 0); // looped after 60 frames
  assert.equal(frameIndex(3050, 20, 60), 1);
  assert.equal(frameIndex(-5, 20, 60), 0);
});

test("frame index without fps uses the default", () => {
  assert.equal(DEFAULT_FPS, 30);
  for (const fps of [null, undefined, 0, -1, NaN]) {
    assert.equal(effectiveFps(fps), 30);
    assert.equal(frameIndex(1000, fps, 100), 30);
  }
  assert.equal(effectiveFps(12.5), 12.5);
});

test("a stride keeps real speed: each shown frame stands for `stride` source frames", () => {
  // 600 frames at 30 fps shown as 200 frames with stride 3: 20 s per loop
  assert.equal(frameDurationMs(30, 3), 100);
  assert.equal(frameIndex(99, 30, 200, 3), 0);
  assert.equal(frameIndex(100, 30, 200, 3), 1);
  assert.equal(frameIndex(19_999, 30, 200, 3), 199);
  assert.equal(frameIndex(20_000, 30, 200, 3), 0);
  assert.equal(frameDurationMs(30, 0), frameDurationMs(30, 1)); // a bad stride counts as 1
});

test("no frames gives no index", () => {
  assert.equal(frameIndex(100, 30, 0), -1);
  assert.equal(frameIndex(100, 30, undefined), -1);
});

// three points: 0 present, 1 present, 2 missing (confidence 0)
const PERSON = [10, 20, 1, 30, 40, 0.5, 0, 0, 0];

test("segments with a missing endpoint are skipped", () => {
  const edges = [[0, 1], [1, 2], [2, 0], [0, 5]]; // 5 is beyond the person's points
  assert.deepEqual(personSegments(PERSON, edges), [{ edge: 0, from: [10, 20], to: [30, 40] }]);
});

test("an endpoint with negative or non-finite confidence is missing too", () => {
  assert.deepEqual(personSegments([0, 0, -0.1, 5, 5, 1], [[0, 1]]), []);
  assert.deepEqual(personSegments([0, 0, null, 5, 5, 1], [[0, 1]]), []);
  assert.deepEqual(personSegments([0, 0, 0.01, 5, 5, 1], [[0, 1]]).length, 1);
});

test("joints are the present points", () => {
  assert.deepEqual(personJoints(PERSON), [[10, 20], [30, 40]]);
  assert.deepEqual(personJoints([]), []);
});

test("frame shapes cover every person and keep each edge's index for its colour", () => {
  const other = [100, 100, 1, 0, 0, 0, 120, 110, 1];
  const shapes = frameShapes([PERSON, other], [[0, 1], [2, 0]]);
  assert.deepEqual(shapes.segments, [
    { edge: 0, from: [10, 20], to: [30, 40] },
    { edge: 1, from: [120, 110], to: [100, 100] },
  ]);
  assert.equal(shapes.joints.length, 4);
  assert.deepEqual(frameShapes(undefined, [[0, 1]]), { segments: [], joints: [] });
});

test("status text names frames, fps and people; unknown fps is '?'", () => {
  assert.equal(statusText({ frames: 60, fps: 20, people: 2 }), "60 frames · 20 fps · 2 people");
  assert.equal(statusText({ frames: 81, fps: null, people: 1 }), "81 frames · ? fps · 1 person");
  assert.equal(statusText({ frames: 300, fps: 29.97002997, people: 1 }), "300 frames · 29.97 fps · 1 person");
  assert.equal(formatFps(24.0), "24");
  assert.equal(formatFps(undefined), "?");
});

test("edge colours come from the payload, white when missing", () => {
  assert.equal(edgeColor([[255, 0, 0], [0, 128, 255]], 1), "rgb(0, 128, 255)");
  assert.equal(edgeColor([[255, 0, 0]], 3), "rgb(255, 255, 255)");
  assert.equal(edgeColor(undefined, 0), "rgb(255, 255, 255)");
});

test("backing size follows the device pixel ratio and never collapses to zero", () => {
  assert.deepEqual(backingSize(300, 200, 2), { width: 600, height: 400 });
  assert.deepEqual(backingSize(300.4, 199.6, 1), { width: 300, height: 200 });
  assert.deepEqual(backingSize(0, 0, 1), { width: 1, height: 1 });
  assert.deepEqual(backingSize(10, 10, undefined), { width: 10, height: 10 });
});
