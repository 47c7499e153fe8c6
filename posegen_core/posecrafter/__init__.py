"""PoseCrafter on Wan latents: landmark affines, face/hand latent editing and the sampler that applies it."""
