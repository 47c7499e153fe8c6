// Pure helpers for the PoseGen frontend extension (no ComfyUI imports, so they run under node --test).

export const TEMPORAL_STRIDE = 4; // Wan 2.1 VAE: 4 pixel frames per latent frame (frame 0 alone)
export const SIZE_MULTIPLE = 16; // VAE /8 times the DiT's 2x2 patch

/**
 * What a PoseGen segment of width x height x length becomes inside the model, or why it cannot run.
 * @returns {{valid: boolean, text: string}}
 */
export function segmentInfo(width, height, length) {
  if (!Number.isInteger(length) || length < 1 || (length - 1) % TEMPORAL_STRIDE !== 0) {
    return { valid: false, text: `length ${length}: needs 4k+1 frames (e.g. 81)` };
  }
  for (const [name, value] of [["width", width], ["height", height]]) {
    if (!Number.isInteger(value) || value < SIZE_MULTIPLE || value % SIZE_MULTIPLE !== 0) {
      return { valid: false, text: `${name} ${value}: needs a multiple of ${SIZE_MULTIPLE}` };
    }
  }
  const latentFrames = (length - 1) / TEMPORAL_STRIDE + 1;
  const tokensPerFrame = (width / SIZE_MULTIPLE) * (height / SIZE_MULTIPLE);
  const total = tokensPerFrame * (latentFrames + 1); // + one frame of reference tokens
  return {
    valid: true,
    text: `${latentFrames} latent frames, ${tokensPerFrame.toLocaleString("en-US")} tokens each; ` +
      `${total.toLocaleString("en-US")} in self-attention`,
  };
}
