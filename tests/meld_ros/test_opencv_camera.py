"""The OpenCV camera node on a generated video file, as a real process over DDS (usb_cam's conventions)."""
import cv2
import numpy as np
import pytest
from sensor_msgs.msg import Image

from meld_ros.rosfree.images import image_to_array
from meld_ros.runtime.node_runtime import RELIABLE

pytestmark = pytest.mark.graph

COLOURS = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]         # RGB of frames 0, 1, 2 (then again)


def _video(path, frames=30, size=(160, 120)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    assert writer.isOpened()
    for k in range(frames):
        rgb = np.zeros((size[1], size[0], 3), np.uint8)
        rgb[:] = COLOURS[k % 3]
        writer.write(rgb[:, :, ::-1].copy())                   # OpenCV writes BGR
    writer.release()


def test_publishes_the_video_as_rgb8_on_image_raw_in_its_namespace(tmp_path, start_node, ros_node):
    video = tmp_path / "scene.avi"
    _video(video)
    camera = start_node("opencv_camera_node", {"video_device": str(video), "framerate": 20.0, "image_width": 64,
                                               "image_height": 48, "loop": True, "frame_id": "scene"},
                        ros_args=["-r", "__ns:=/camera/scene"])
    got = []
    ros_node.create_subscription(Image, "/camera/scene/image_raw", got.append, RELIABLE)
    assert ros_node.spin_until(lambda: len(got) >= 40, timeout=30), camera.stop()[1]
    first = image_to_array(got[0])
    assert (got[0].encoding, got[0].width, got[0].height, got[0].header.frame_id) == ("rgb8", 64, 48, "scene")
    assert first.shape == (48, 64, 3)
    means = [tuple(image_to_array(m).reshape(-1, 3).mean(0)) for m in got[:6]]
    for mean in means:                                          # each frame is one of the colours (MJPEG: close)
        assert min(np.abs(np.subtract(mean, c)).max() for c in COLOURS) < 25, means
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in got]
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert 14 < rate < 26                                        # the timer's 20 Hz, looped past the file's end
    code, _ = camera.stop()
    assert code == 0


def test_a_device_that_does_not_open_is_retried_not_fatal(start_node, ros_node):
    camera = start_node("opencv_camera_node", {"video_device": "/dev/video-missing", "reopen_s": 0.2})
    ros_node.spin_until(lambda: False, timeout=1.5)
    assert camera.proc.poll() is None
    code, out = camera.stop()
    assert code == 0 and "cannot open" in out
