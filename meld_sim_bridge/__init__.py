"""meld_sim_bridge: MuJoCo environments (Gymnasium API) for the MELD suite; imports no rclpy."""
