"""Camera alignment and fusion as plain functions (no ROS)."""
import numpy as np
import pytest

from meld_ros.rosfree.fusion import CameraAligner, fuse

MS = 1_000_000


def _im(v, h=64, w=64):
    return np.full((h, w, 3), v, np.uint8)


def test_two_cameras_within_slop_make_one_observation():
    a = CameraAligner(2, slop_s=0.01, max_age_s=1.0)
    assert a.add(0, 100 * MS, _im(1)) is None            # waiting for camera 1
    out = a.add(1, 105 * MS, _im(2))
    assert [f.stamp_ns for f in out] == [100 * MS, 105 * MS]


def test_frames_outside_slop_are_never_paired():
    a = CameraAligner(2, slop_s=0.01, max_age_s=1.0)
    a.add(0, 100 * MS, _im(1))
    assert a.add(1, 150 * MS, _im(2)) is None            # 50 ms apart: no half-stale observation
    out = a.add(0, 152 * MS, _im(3))                      # a fresh frame of camera 0 pairs with it
    assert [f.stamp_ns for f in out] == [152 * MS, 150 * MS]


def test_each_frame_used_once_and_time_never_goes_back():
    a = CameraAligner(2, slop_s=0.01, max_age_s=1.0)
    a.add(0, 100 * MS, _im(1))
    assert a.add(1, 101 * MS, _im(2)) is not None
    assert a.add(1, 102 * MS, _im(2)) is None            # camera 0's frame was used already
    assert a.add(0, 99 * MS, _im(1)) is None             # older than what was used: dropped
    assert a.add(0, 103 * MS, _im(1)) is not None


def test_stale_and_missing_cameras_are_named():
    a = CameraAligner(3, slop_s=0.01, max_age_s=0.2)
    a.add(0, 1000 * MS, _im(1))
    a.add(1, 900 * MS, _im(1))
    assert a.stale_cameras(1050 * MS) == [2]              # never sent
    assert a.stale_cameras(1150 * MS) == [1, 2]           # camera 1 now 250 ms old


def test_fuse_resizes_and_concatenates():
    out = fuse([_im(10, 480, 640), _im(200, 64, 64)])
    assert out.shape == (64, 128, 3) and out.dtype == np.uint8
    assert np.all(out[:, :64] == 10) and np.all(out[:, 64:] == 200)


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 3), np.float32)])
def test_fuse_rejects_bad_images(bad):
    with pytest.raises(ValueError, match="camera 1"):
        fuse([_im(1), bad])


def test_bad_settings_rejected():
    with pytest.raises(ValueError):
        CameraAligner(0, 0.01, 1.0)
    with pytest.raises(ValueError):
        CameraAligner(2, -0.01, 1.0)


def test_a_clock_that_jumps_back_is_followed():
    """One frame stamped in the future used to stall fusion for good: every later frame was 'old'."""
    a = CameraAligner(1, slop_s=0.01, max_age_s=1.0, resync_after=3)
    assert a.add(0, 100 * MS, _im(1)) is not None
    assert a.add(0, 10**9 * MS, _im(9)) is not None               # a frame from the future (or a clock restart)
    assert a.add(0, 200 * MS, _im(2)) is None                     # out of order: dropped
    assert a.add(0, 200 * MS, _im(2)) is None                     # re-sent (lockstep): counts as well
    out = a.add(0, 200 * MS, _im(2))                               # third in a row: the clock jumped back
    assert out is not None and out[0].stamp_ns == 200 * MS
    assert a.order[0].jumps == 1 and a.order[0].stale == 2
    assert a.add(0, 300 * MS, _im(3)) is not None                 # and time moves forward again
    assert a.add(0, 250 * MS, _im(3)) is None and a.add(0, 350 * MS, _im(3)) is not None   # one stray: dropped


def test_two_cameras_both_restarted_with_an_earlier_clock():
    a = CameraAligner(2, slop_s=0.01, max_age_s=1.0, resync_after=2)
    assert a.add(0, 5000 * MS, _im(1)) is None and a.add(1, 5001 * MS, _im(1)) is not None
    got = [a.add(k, t * MS, _im(2)) for t in (10, 20, 30) for k in (0, 1)]
    # each camera follows its jump on its second earlier frame; then they pair again
    assert [None if g is None else g[0].stamp_ns // MS for g in got] == [None, None, None, 20, None, 30]
    assert all(o.jumps == 1 for o in a.order)


def test_sampler_takes_the_newest_frame_of_each_camera_by_arrival_time():
    """Unsynchronised webcams: at each tick, the newest frame of each camera if all arrived within max_age
    (measured on this computer's clock: a camera's own stamps may be hundreds of ms off)."""
    from meld_ros.rosfree.fusion import CameraSampler

    ms = 1_000_000
    s = CameraSampler(2, max_age_s=0.2)
    assert s.sample(0) is None and s.stale_cameras(0) == [0, 1]
    s.add(0, stamp_ns=5_000 * ms, image="a1", received_ns=100 * ms)     # camera 0's clock is 5 s ahead
    s.add(0, stamp_ns=5_033 * ms, image="a2", received_ns=133 * ms)
    assert s.sample(140 * ms) is None and s.stale_cameras(140 * ms) == [1]
    s.add(1, stamp_ns=90 * ms, image="b1", received_ns=138 * ms)
    frames = s.sample(150 * ms)
    assert [f.image for f in frames] == ["a2", "b1"] and frames[0].stamp_ns == 5_033 * ms
    # camera 1 stops: its last frame ages out and the tick gives nothing, naming it
    s.add(0, stamp_ns=5_300 * ms, image="a3", received_ns=400 * ms)
    assert s.sample(400 * ms) is None and s.stale_cameras(400 * ms) == [1]
    # camera 1 restarts with a stamp 0.9 s behind: arrival time is what counts
    s.add(1, stamp_ns=-500 * ms, image="b2", received_ns=410 * ms)
    assert [f.image for f in s.sample(420 * ms)] == ["a3", "b2"]
    with pytest.raises(ValueError):
        CameraSampler(2, max_age_s=0)
