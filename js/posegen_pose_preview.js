// PoseGen frontend extension: after a node that produced a pose sequence runs, play the sequence as an animated
// skeleton on that node, with "<frames> frames · <fps> fps · <people> people" under it, so the motion can be
// checked before any GPU time is spent on sampling. Works for ANY node whose UI output carries the preview
// payload (posegen_core/poses/preview.py: ui={"posegen_pose_preview": [payload]}).
//
// The widget is display-only: it is never serialized (no widgets_values entry, no API input).
// Test hook: the <canvas> carries data-frame="<shown frame index>" and data-drawn-segments="<limbs drawn>".
import { app } from "../../scripts/app.js";
import {
  backingSize,
  edgeColor,
  fitRect,
  frameIndex,
  frameShapes,
  JOINT_RADIUS,
  LINE_WIDTH,
  statusText,
} from "./posegen_pose_draw.js";

const PREVIEW_KEY = "posegen_pose_preview"; // preview.py's PREVIEW_KEY
const WIDGET_NAME = "posegen_pose_preview";
const WIDGET_MIN_HEIGHT = 220; // canvas + status line, in graph units
const NODE_MIN_WIDTH = 260;
const STATUS_HEIGHT = 18;
const JOINT_COLOR = "rgb(255, 255, 255)";

/** The canvas, status line and animation loop of one node's preview. */
class PosePreview {
  constructor() {
    this.root = document.createElement("div");
    this.root.className = "posegen-pose-preview";
    Object.assign(this.root.style, {
      display: "flex", flexDirection: "column", width: "100%", height: "100%", boxSizing: "border-box",
    });
    const box = document.createElement("div");
    Object.assign(box.style, { position: "relative", flex: "1 1 auto", minHeight: "0", background: "#000" });
    this.canvas = document.createElement("canvas");
    this.canvas.className = "posegen-pose-preview-canvas";
    Object.assign(this.canvas.style, {
      position: "absolute", left: "0", top: "0", width: "100%", height: "100%", display: "block",
    });
    this.canvas.dataset.frame = "-1";
    this.canvas.dataset.drawnSegments = "0";
    box.appendChild(this.canvas);
    this.status = document.createElement("div");
    this.status.className = "posegen-pose-preview-status";
    Object.assign(this.status.style, {
      flex: `0 0 ${STATUS_HEIGHT}px`, lineHeight: `${STATUS_HEIGHT}px`, font: "11px sans-serif", color: "#ccc",
      textAlign: "center", whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis",
    });
    this.root.append(box, this.status);

    this.payload = null;
    this.start = 0; // performance.now() at which playback time 0 is
    this.pausedAt = null; // performance.now() when paused, so playback resumes where it stopped
    this.raf = 0;
    this.lastDrawn = null; // "frame|width|height" of the picture on the canvas, to skip identical redraws
    this.visible = typeof IntersectionObserver === "undefined"; // no observer: assume visible
    this.tick = this.tick.bind(this);
    if (!this.visible) {
      // Pauses while the widget is hidden (node off-screen, collapsed, zoomed out) or detached; the frontend
      // shows DOM widgets with display:none / unmounts them then, which reads as "not intersecting".
      this.observer = new IntersectionObserver((entries) => {
        this.visible = entries[entries.length - 1].isIntersecting;
        if (this.visible) {
          this.play();
        } else {
          this.pause();
        }
      });
      this.observer.observe(this.canvas);
    }
  }

  setPayload(payload) {
    this.payload = payload;
    this.status.textContent = statusText(payload);
    this.status.title = `${payload.skeleton ?? "pose"} skeleton, ${payload.width}x${payload.height}` +
      (payload.stride > 1 ? `, every ${payload.stride}th frame shown` : "");
    this.start = performance.now();
    this.pausedAt = this.raf ? null : this.start;
    this.lastDrawn = null;
    this.play();
  }

  play() {
    if (this.raf || !this.payload || !this.visible || !this.canvas.isConnected) {
      return;
    }
    if (this.pausedAt !== null) {
      this.start += performance.now() - this.pausedAt;
      this.pausedAt = null;
    }
    this.raf = requestAnimationFrame(this.tick);
  }

  pause() {
    if (this.raf) {
      cancelAnimationFrame(this.raf);
      this.raf = 0;
    }
    if (this.pausedAt === null) {
      this.pausedAt = performance.now();
    }
  }

  tick(now) {
    this.raf = 0;
    if (!this.visible || !this.canvas.isConnected) {
      this.pause(); // the observer restarts playback when the canvas is shown again
      return;
    }
    this.draw(now);
    this.raf = requestAnimationFrame(this.tick);
  }

  draw(now) {
    const payload = this.payload;
    const frames = payload.keypoints ?? [];
    const index = frameIndex(now - this.start, payload.fps, frames.length, payload.stride);
    const ratio = window.devicePixelRatio || 1;
    const size = backingSize(this.canvas.clientWidth, this.canvas.clientHeight, ratio);
    const key = `${index}|${size.width}|${size.height}`;
    if (key === this.lastDrawn) {
      return; // same frame at the same size: nothing to repaint (fps is usually below the display's rate)
    }
    if (this.canvas.width !== size.width || this.canvas.height !== size.height) {
      this.canvas.width = size.width;
      this.canvas.height = size.height;
    }
    const ctx = this.canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, size.width, size.height);
    const fit = fitRect(payload.width, payload.height, size.width, size.height);
    const shapes = frameShapes(index >= 0 ? frames[index] : [], payload.edges);
    const px = (p) => [fit.x + p[0] * fit.scale, fit.y + p[1] * fit.scale];
    ctx.lineWidth = LINE_WIDTH * ratio;
    ctx.lineCap = "round";
    for (const { edge, from, to } of shapes.segments) {
      const [ax, ay] = px(from);
      const [bx, by] = px(to);
      ctx.strokeStyle = edgeColor(payload.colors, edge);
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.stroke();
    }
    ctx.fillStyle = JOINT_COLOR;
    for (const joint of shapes.joints) {
      const [x, y] = px(joint);
      ctx.beginPath();
      ctx.arc(x, y, JOINT_RADIUS * ratio, 0, 2 * Math.PI);
      ctx.fill();
    }
    this.lastDrawn = key;
    this.canvas.dataset.frame = String(index);
    this.canvas.dataset.drawnSegments = String(shapes.segments.length);
  }

  destroy() {
    this.pause();
    this.observer?.disconnect();
    this.payload = null;
  }
}

function showPosePreview(node, payload) {
  let widget = node.widgets?.find((w) => w.name === WIDGET_NAME);
  if (!widget) {
    const preview = new PosePreview();
    widget = node.addDOMWidget(WIDGET_NAME, "posegen_pose_preview", preview.root, {
      serialize: false, // graphToPrompt: no API input
      hideOnZoom: true,
      getValue: () => undefined,
      setValue: () => {},
      getMinHeight: () => WIDGET_MIN_HEIGHT,
    });
    widget.serialize = false; // LGraphNode.serialize: no widgets_values entry
    widget.serializeValue = () => undefined;
    widget.posegenPreview = preview;
    const onRemove = widget.onRemove;
    widget.onRemove = function () {
      preview.destroy();
      return onRemove?.apply(this, arguments);
    };
    const min = node.computeSize();
    node.setSize([Math.max(node.size[0], min[0], NODE_MIN_WIDTH), Math.max(node.size[1], min[1])]);
  }
  widget.posegenPreview.setPayload(payload);
  node.setDirtyCanvas?.(true, true);
}

app.registerExtension({
  name: "posegen.posePreview",
  async beforeRegisterNodeDef(nodeType) {
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      const payload = message?.[PREVIEW_KEY]?.[0];
      if (payload && typeof payload === "object" && Array.isArray(payload.keypoints)) {
        try {
          showPosePreview(this, payload);
        } catch (error) {
          console.error("[PoseGen] pose preview failed", error);
        }
      }
      return result;
    };
  },
});
