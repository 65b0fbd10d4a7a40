"""Whether a reward reading can be a reward (no ROS here).

Reward sensing, the belief node and the learner all take rewards from topics
that anyone can publish on. A reading that is not finite, or beyond the
``meld_ros/Reward`` message's ``MAX_ABS``, is a sensor or publisher fault:
the model would turn it into inf and NaN (one such reward in a training batch
poisons every weight), so each of them drops it instead.
"""
from __future__ import annotations

import math


def reward_is_plausible(dense: float, sparse: float, limit: float) -> bool:
    """Both values finite and within +-``limit``."""
    return all(math.isfinite(v) and abs(v) <= limit for v in (dense, sparse))
