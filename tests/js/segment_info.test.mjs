import assert from "node:assert/strict";
import { test } from "node:test";

import { segmentInfo } from "../../js/posegen_segment_info.js";

test("PoseGen's 720x1280x81 segment", () => {
  const info = segmentInfo(720, 1280, 81);
  assert.equal(info.valid, true);
  assert.equal(info.text, "21 latent frames, 3,600 tokens each; 79,200 in self-attention");
});

test("length must be 4k+1", () => {
  assert.deepEqual(segmentInfo(720, 1280, 80), { valid: false, text: "length 80: needs 4k+1 frames (e.g. 81)" });
  assert.equal(segmentInfo(720, 1280, 1).valid, true);
});

test("sizes must be multiples of 16", () => {
  assert.equal(segmentInfo(721, 1280, 81).text, "width 721: needs a multiple of 16");
  assert.equal(segmentInfo(720, 8, 81).text, "height 8: needs a multiple of 16");
});
