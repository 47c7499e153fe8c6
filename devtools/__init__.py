"""Developer tools for PoseGen: a driver for a real ComfyUI server and test-only stand-in nodes.

Nothing in here is part of the node pack that users install.
"""
