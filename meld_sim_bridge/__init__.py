"""meld_sim_bridge: MuJoCo environments (Gymnasium API) for the MELD suite; imports no rclpy.

Importing it registers every environment with Gymnasium as ``meld/<name>-v0``
(``gymnasium.make("meld/point2d-v0")``; see ``registry.ENVIRONMENTS``).
"""
from meld_sim_bridge.registry import register_with_gymnasium

register_with_gymnasium()
