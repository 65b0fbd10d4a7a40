"""meld_core: the MELD algorithm (latent state model, SAC, replay, meta-training); imports no rclpy."""
