"""The graph's rules that need no ROS: pairing frames for the belief (``belief_inputs``), camera
fusion (``fusion``), recording trials (``recorder``), time that moves forward (``stamp_order``),
command bounds and the watchdog (``safety``), reward plausibility (``reward_check``), each belief with its step's reward for the live
view (``belief_rewards``) and image conversion (``images``). Each imports no rclpy and has plain unit tests; the nodes are thin
adapters over them."""
