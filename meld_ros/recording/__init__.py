"""Recording the graph: rosbag2-compatible MCAP bags, and trials read back from them (no rclpy here)."""
