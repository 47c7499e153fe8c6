// Pure helpers for the pose-sequence preview (no DOM, no ComfyUI imports, so they run under node --test).
// The payload they read is posegen_core/poses/preview.py's preview_payload(): keypoints[frame][person] is a flat
// [x, y, c, x, y, c, ...] list in the sequence's canvas pixels, frames subsampled by `stride`.

export const DEFAULT_FPS = 30; // when the sequence has no fps
export const LINE_WIDTH = 2; // CSS px
export const JOINT_RADIUS = 2; // CSS px

/** Frames per second to animate at: the sequence's own, else DEFAULT_FPS. */
export function effectiveFps(fps) {
  return Number.isFinite(fps) && fps > 0 ? fps : DEFAULT_FPS;
}

/** How long one shown (stride-subsampled) frame stays on screen, in milliseconds. */
export function frameDurationMs(fps, stride = 1) {
  const step = Number.isInteger(stride) && stride > 0 ? stride : 1;
  return (1000 * step) / effectiveFps(fps);
}

/**
 * Index into the payload's (subsampled) keypoints to show after `elapsedMs` of playback, looping.
 * Playing at the sequence's real speed: each shown frame stands for `stride` source frames.
 * @returns {number} 0..shownFrames-1, or -1 when there is nothing to show
 */
export function frameIndex(elapsedMs, fps, shownFrames, stride = 1) {
  if (!Number.isInteger(shownFrames) || shownFrames <= 0) {
    return -1;
  }
  const elapsed = Number.isFinite(elapsedMs) && elapsedMs > 0 ? elapsedMs : 0;
  const step = Number.isInteger(stride) && stride > 0 ? stride : 1;
  // elapsed * fps / (1000 * step), not elapsed / frameDurationMs(): 1000 / (1000 / 30) is 29.999...
  return Math.floor((elapsed * effectiveFps(fps)) / (1000 * step)) % shownFrames;
}

/**
 * The largest rectangle of the source's aspect ratio that fits into the destination, centred.
 * `scale` maps source pixels to destination pixels: dest = (x + src * scale, y + src * scale).
 */
export function fitRect(srcWidth, srcHeight, dstWidth, dstHeight) {
  if (!(srcWidth > 0 && srcHeight > 0 && dstWidth > 0 && dstHeight > 0)) {
    return { x: 0, y: 0, width: 0, height: 0, scale: 0 };
  }
  const scale = Math.min(dstWidth / srcWidth, dstHeight / srcHeight);
  const width = srcWidth * scale;
  const height = srcHeight * scale;
  return { x: (dstWidth - width) / 2, y: (dstHeight - height) / 2, width, height, scale };
}

function point(flat, index) {
  const at = 3 * index;
  if (!Array.isArray(flat) || !Number.isInteger(index) || index < 0 || at + 2 >= flat.length) {
    return null;
  }
  const [x, y, c] = [flat[at], flat[at + 1], flat[at + 2]];
  return Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(c) && c > 0 ? [x, y] : null;
}

/**
 * The limbs of one person to draw: every edge whose two endpoints are present (confidence > 0).
 * @returns {{edge: number, from: number[], to: number[]}[]} `edge` indexes the payload's edges/colors
 */
export function personSegments(flat, edges) {
  const segments = [];
  (edges ?? []).forEach(([a, b], edge) => {
    const from = point(flat, a);
    const to = point(flat, b);
    if (from && to) {
      segments.push({ edge, from, to });
    }
  });
  return segments;
}

/** The joints of one person to draw: the points with confidence > 0, as [x, y]. */
export function personJoints(flat) {
  const joints = [];
  const count = Array.isArray(flat) ? Math.floor(flat.length / 3) : 0;
  for (let i = 0; i < count; i++) {
    const p = point(flat, i);
    if (p) {
      joints.push(p);
    }
  }
  return joints;
}

/** Limbs and joints of every person in one frame (`frame` = keypoints[index]: [person][x, y, c, ...]). */
export function frameShapes(frame, edges) {
  const segments = [];
  const joints = [];
  for (const person of frame ?? []) {
    segments.push(...personSegments(person, edges));
    joints.push(...personJoints(person));
  }
  return { segments, joints };
}

/** "29.97" / "30" / "?" (no fps). */
export function formatFps(fps) {
  if (!(Number.isFinite(fps) && fps > 0)) {
    return "?";
  }
  return String(Math.round(fps * 100) / 100);
}

/** The line under the animation: "<frames> frames · <fps> fps · <people> people" (1 person). */
export function statusText(payload) {
  const people = payload?.people ?? 0;
  return `${payload?.frames ?? 0} frames · ${formatFps(payload?.fps)} fps · ${people} ${people === 1 ? "person" : "people"}`;
}

/** CSS colour of edge `edge` ([r, g, b] in the payload), white when the payload has none for it. */
export function edgeColor(colors, edge) {
  const c = colors?.[edge];
  return Array.isArray(c) && c.length === 3 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : "rgb(255, 255, 255)";
}

/** Device pixels for a canvas shown at cssWidth x cssHeight (at least 1 x 1, so drawing never throws). */
export function backingSize(cssWidth, cssHeight, devicePixelRatio = 1) {
  const ratio = Number.isFinite(devicePixelRatio) && devicePixelRatio > 0 ? devicePixelRatio : 1;
  return {
    width: Math.max(1, Math.round((cssWidth || 0) * ratio)),
    height: Math.max(1, Math.round((cssHeight || 0) * ratio)),
  };
}
