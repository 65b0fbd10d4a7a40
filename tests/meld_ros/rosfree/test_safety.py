"""Command limits, watchdog and e-stop as plain functions."""
import numpy as np
import pytest

from meld_ros.rosfree.safety import CommandError, EStop, Watchdog, check_limits, clamp_command

LIMITS = np.array([0.5, 0.5, 1.0])


def test_commands_are_clamped_to_the_limits():
    out = clamp_command([2.0, -3.0, 0.25], LIMITS)
    assert np.allclose(out, [0.5, -0.5, 0.25])


@pytest.mark.parametrize("bad, match", [([0.1, 0.2], "2 values"), ([0.1, np.nan, 0.0], "not finite"),
                                        ([np.inf, 0.0, 0.0], "not finite")])
def test_bad_commands_never_pass(bad, match):
    with pytest.raises(CommandError, match=match):
        clamp_command(bad, LIMITS)


@pytest.mark.parametrize("bad", [[], [0.5, 0.0], [0.5, -1.0], [np.nan]])
def test_bad_limits_rejected(bad):
    with pytest.raises(ValueError, match="positive"):
        check_limits(bad)


def test_watchdog_expires_without_fresh_beliefs():
    w = Watchdog(0.2)
    assert w.expired(0)                       # nothing received yet: zero
    w.feed(1_000_000_000)
    assert not w.expired(1_100_000_000)
    assert w.expired(1_300_000_000)
    w.feed(1_300_000_000)
    assert not w.expired(1_350_000_000)


def test_estop_latches_until_released():
    e = EStop()
    e.trigger()
    assert e.engaged
    e.trigger()
    assert e.engaged
    e.release()
    assert not e.engaged
