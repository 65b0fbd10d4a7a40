"""Pairing of images, rewards and actions by stamp for the belief update (plain unit tests, no ROS)."""
import pytest

from meld_ros.rosfree.belief_inputs import BeliefInputs, Ready, Skipped
from meld_ros.rosfree.stamp_order import LastAnswer, Verdict


def _frame(inputs: BeliefInputs, ns: int, step: int, image="x") -> None:
    assert inputs.image_verdict(ns) in (Verdict.NEW, Verdict.JUMPED)
    inputs.hold_image(ns, f"{image}{ns}")
    inputs.add_reward(ns, -float(ns), 0.0, step)


def test_a_frame_waits_for_its_image_and_reward_and_frames_go_in_stamp_order():
    inputs = BeliefInputs()
    inputs.add_reward(20, -2.0, 0.0, 0)
    assert inputs.next(0.0) is None                       # no image yet
    assert inputs.image_verdict(10) is Verdict.NEW
    inputs.hold_image(10, "a")
    assert inputs.image_verdict(20) is Verdict.NEW
    inputs.hold_image(20, "b")
    inputs.add_reward(10, -1.0, 0.0, 0)
    first = inputs.next(0.0)
    assert isinstance(first, Ready) and (first.ns, first.image, first.dense, first.prev_action) == (10, "a", -1.0, None)
    assert first.trial_start and first.episode == 0
    inputs.used(first)
    assert inputs.next(0.0) is None                       # frame 20 waits for the action that answered 10
    inputs.add_action(10, [0.5, -0.5])
    second = inputs.next(0.0)
    assert (second.ns, second.prev_action, second.trial_start) == (20, [0.5, -0.5], False)


def test_a_missing_action_gives_the_frame_up_after_the_wait():
    inputs = BeliefInputs(action_wait_s=0.5)
    _frame(inputs, 10, 0)
    inputs.used(inputs.next(0.0))
    _frame(inputs, 20, 1)
    assert inputs.next(1.0) is None
    assert inputs.next(1.4) is None
    assert inputs.next(1.6) == Skipped(20)
    assert inputs.next(1.7) is None                       # given up for good


def test_each_frame_once_and_a_resent_frame_is_a_repeat():
    inputs = BeliefInputs()
    _frame(inputs, 10, 0)
    frame = inputs.next(0.0)
    inputs.used(frame)
    assert inputs.image_verdict(10) is Verdict.REPEAT
    assert not inputs.add_reward(10, -1.0, 0.0, 0)        # nothing of a used stamp is held again
    assert inputs.image_verdict(5) is Verdict.STALE


def test_episodes_are_counted_from_reward_steps_and_a_new_trial_starts_at_zero():
    inputs = BeliefInputs()
    episodes = []
    for ns, step in [(1, 0), (2, 1), (3, 2), (4, 0), (5, 1)]:      # frame 4 is the second episode's reset frame
        _frame(inputs, ns, step)
        inputs.add_action(ns - 1, [0.0])
        frame = inputs.next(0.0)
        episodes.append(frame.episode)
        inputs.used(frame)
    assert episodes == [0, 0, 0, 1, 1]
    inputs.reset_trial()
    _frame(inputs, 6, 0)
    frame = inputs.next(0.0)
    assert frame.trial_start and frame.episode == 0


def test_a_clock_jumping_back_is_followed():
    inputs = BeliefInputs(clock_jump_frames=2)
    _frame(inputs, 100, 0)
    inputs.used(inputs.next(0.0))
    assert inputs.image_verdict(10) is Verdict.STALE
    assert inputs.image_verdict(11) is Verdict.JUMPED
    inputs.hold_image(11, "after the jump")
    inputs.add_reward(11, -1.0, 0.0, 1)
    inputs.add_action(100, [0.1])
    frame = inputs.next(0.0)
    assert (frame.ns, frame.image, frame.prev_action) == (11, "after the jump", [0.1])


def test_waiting_frames_are_bounded_oldest_first():
    inputs = BeliefInputs(pending=4)
    for ns in range(1, 11):
        inputs.image_verdict(ns)
        inputs.hold_image(ns, ns)
    inputs.add_reward(3, 0.0, 0.0, 0)                     # its image was dropped long ago
    assert inputs.next(0.0) is None
    inputs.add_reward(8, 0.0, 0.0, 0)
    assert inputs.next(0.0).ns == 8


def test_last_answer_repeats_only_for_the_last_stamp():
    last = LastAnswer()
    assert last.repeat_for(5) is None
    last.remember(5, "belief 5")
    assert last.repeat_for(5) == "belief 5" and last.repeat_for(6) is None
    last.remember(6, "belief 6")
    assert last.repeat_for(5) is None
