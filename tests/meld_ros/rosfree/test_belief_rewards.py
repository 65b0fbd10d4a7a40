"""Pairing beliefs with sensed rewards in either order (meld_ros/rosfree/belief_rewards.py)."""
import pytest

from meld_ros.rosfree.belief_rewards import BeliefRewards

pytestmark = pytest.mark.unit


def test_reward_first_or_belief_first_both_pair():
    pairs = BeliefRewards(wait_s=0.5)
    assert pairs.reward(1, -0.5, now=0.0) == []
    assert pairs.belief(1, "b1", now=0.01) == [("b1", -0.5)]          # reward came first
    assert pairs.belief(2, "b2", now=0.02) == []                      # belief first: it waits ...
    assert pairs.reward(2, -0.25, now=0.03) == [("b2", -0.25)]        # ... for its own reward


def test_a_belief_without_reward_goes_out_after_wait_s_in_order():
    pairs = BeliefRewards(wait_s=0.5)
    assert pairs.belief(1, "b1", now=0.0) == []
    assert pairs.belief(2, "b2", now=0.3) == []
    assert pairs.expired(now=0.4) == []
    assert pairs.expired(now=0.6) == [("b1", None)]
    assert pairs.reward(3, 1.0, now=0.9) == [("b2", None)]            # b2's time is up too; 3 is kept
    assert pairs.belief(3, "b3", now=0.95) == [("b3", 1.0)]


def test_memory_is_bounded():
    pairs = BeliefRewards(wait_s=10.0, keep=3)
    out = [p for s in range(5) for p in pairs.belief(s, f"b{s}", now=0.0)]
    assert out == [("b0", None), ("b1", None)]                        # beyond keep: out without waiting
    for s in range(10, 20):
        pairs.reward(s, float(s), now=0.0)
    assert pairs.belief(10, "late", now=0.0) == [("b2", None)]        # its reward was forgotten: it waits
    assert pairs.belief(19, "b19", now=0.0) == [("b19", 19.0)]
