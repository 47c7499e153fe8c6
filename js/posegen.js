// PoseGen frontend extension: shows, under PoseGenConditioning, what the chosen size and length become
// in the model (latent frames, tokens) or why they cannot run, before anything is queued.
import { app } from "../../scripts/app.js";
import { segmentInfo } from "./posegen_segment_info.js";

const INFO_HEIGHT = 18;

function widgetValue(node, name) {
  return node.widgets?.find((w) => w.name === name)?.value;
}

app.registerExtension({
  name: "posegen.segmentInfo",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== "PoseGenConditioning") {
      return;
    }
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      this.size[1] += INFO_HEIGHT; // room for the info line; drawn only, never serialized
      return result;
    };
    const onDrawForeground = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function (ctx) {
      onDrawForeground?.apply(this, arguments);
      if (this.flags?.collapsed) {
        return;
      }
      const info = segmentInfo(widgetValue(this, "width"), widgetValue(this, "height"), widgetValue(this, "length"));
      ctx.save();
      ctx.font = "11px sans-serif";
      ctx.fillStyle = info.valid ? "#9c9" : "#f77";
      ctx.fillText(info.text, 10, this.size[1] - 6);
      ctx.restore();
    };
  },
});
