"""OpenCV camera node: a USB webcam (V4L2) or a video file -> ``sensor_msgs/Image`` on ``image_raw``.

For a machine without ``usb_cam`` or ``v4l2_camera`` (the pip-only set-up):
it follows usb_cam's conventions, so the rest of the graph cannot tell the
difference. It publishes on ``image_raw`` in its namespace (start it with
``__ns:=/camera/scene``), with usb_cam's parameter names: ``video_device``
(``/dev/video0``, or a video file), ``framerate``, ``image_width`` /
``image_height`` (asked of the camera; frames of another size are resized),
``pixel_format`` (``mjpeg2rgb`` or ``yuyv2rgb``: the camera's format, both
published as ``rgb8``), ``frame_id``. Frames are taken on a steady timer at
``framerate`` and stamped with the time they were read. A camera that stops
delivering (unplugged, a USB 2 bus out of bandwidth) is reopened every
``reopen_s`` with a warning, never a crash; a video file starts over at its
end when ``loop`` is set (tests, replays).
"""
from __future__ import annotations

import time

import cv2
import numpy as np
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image

from meld_ros.rosfree.images import array_to_image
from meld_ros.runtime.intra_process import DdsTopics
from meld_ros.runtime.node_params import CameraParams, declare
from meld_ros.runtime.node_runtime import RELIABLE, entry_point

FOURCC = {"mjpeg2rgb": "MJPG", "yuyv2rgb": "YUYV"}


class OpenCvCameraNode(Node):
    def __init__(self, topics=None):
        super().__init__("camera")
        self.topics = topics or DdsTopics()      # its publishers and subscriptions: given, composed or not
        self.p: CameraParams = declare(self, CameraParams, section="opencv_camera")
        self.pub = self.topics.publisher(self, Image, "image_raw", RELIABLE)
        self.capture: cv2.VideoCapture | None = None
        self.published = 0
        self.failures = 0
        self._next_open = 0.0
        self._open()
        self.create_timer(1.0 / self.p.framerate, self._on_tick, clock=RosClock(clock_type=ClockType.STEADY_TIME))

    def _open(self) -> bool:
        self._next_open = time.monotonic() + self.p.reopen_s
        capture = cv2.VideoCapture(self.p.video_device)
        if not capture.isOpened():
            self.get_logger().warning(f"{self.p.video_device}: cannot open; trying again every {self.p.reopen_s:g} s",
                                      throttle_duration_sec=5.0)
            return False
        if not self.p.video_device.startswith("/dev/"):
            self.capture = capture                # a file: its own size and rate
            return True
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*FOURCC[self.p.pixel_format]))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.p.image_width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.p.image_height)
        capture.set(cv2.CAP_PROP_FPS, self.p.framerate)
        self.capture = capture
        return True

    def _on_tick(self) -> None:
        if self.capture is None:
            if time.monotonic() >= self._next_open:
                self._open()
            return
        ok, frame = self.capture.read()
        if not ok and self.p.loop and not self.p.video_device.startswith("/dev/"):
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.capture.read()
        if not ok:
            self.failures += 1
            self.get_logger().warning(f"{self.p.video_device}: no frame; reopening", throttle_duration_sec=5.0)
            self.capture.release()
            self.capture = None
            return
        if frame.shape[:2] != (self.p.image_height, self.p.image_width):
            frame = cv2.resize(frame, (self.p.image_width, self.p.image_height), interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(frame[:, :, ::-1])
        self.pub.publish(array_to_image(rgb, self.get_clock().now().to_msg(), self.p.frame_id))
        self.published += 1

    def on_shutdown(self) -> None:
        if self.capture is not None:
            self.capture.release()


NODE = OpenCvCameraNode
main = entry_point(NODE)


if __name__ == "__main__":
    raise SystemExit(main())
