"""sensor_msgs/Image <-> numpy, with the checks a camera topic needs.

The conversion is plain numpy (and OpenCV for YUV), on every install:
cv_bridge is in no package registry this project can use, and for these
encodings a copy with a channel reorder or one colour conversion is all it
would do. Accepted encodings: rgb8, bgr8 (converted to RGB), mono8 (repeated
to 3 channels), and the webcams' 4:2:2 YUV: yuv422_yuy2 (YUYV, usb_cam's
default ``yuyv``) and yuv422 (UYVY), converted to RGB with BT.601 (an even
width is required: two pixels share one U and one V).
A message whose buffer does not match its header (height, width, step,
encoding) raises ImageError naming the mismatch: a node logs it and drops the
message, it never reshapes a half image.
"""
from __future__ import annotations

import numpy as np

#: bytes per pixel of each accepted encoding
CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1, "yuv422_yuy2": 2, "yuv422": 2}


class ImageError(ValueError):
    """A malformed or unsupported image message."""


def image_to_array(msg) -> np.ndarray:
    """An Image message as a (height, width, 3) uint8 RGB array (a copy)."""
    enc = msg.encoding
    if enc not in CHANNELS:
        raise ImageError(f"unsupported encoding {enc!r}; use one of {sorted(CHANNELS)}")
    h, w, c = int(msg.height), int(msg.width), CHANNELS[enc]
    if h <= 0 or w <= 0:
        raise ImageError(f"empty image {h}x{w}")
    if c == 2 and w % 2:
        raise ImageError(f"{enc} needs an even width (two pixels share U and V), got {w}")
    if msg.step < w * c:
        raise ImageError(f"step {msg.step} is shorter than a row ({w} x {c} bytes)")
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    if data.size != msg.step * h:
        raise ImageError(f"{data.size} bytes of data for {h} rows of {msg.step} bytes ({enc} {h}x{w})")
    rows = data.reshape(h, msg.step)[:, : w * c].reshape(h, w, c)
    if enc == "mono8":
        return np.repeat(rows, 3, axis=2)
    if enc == "bgr8":
        return np.ascontiguousarray(rows[:, :, ::-1])
    if c == 2:
        import cv2
        code = cv2.COLOR_YUV2RGB_YUY2 if enc == "yuv422_yuy2" else cv2.COLOR_YUV2RGB_UYVY
        return cv2.cvtColor(np.ascontiguousarray(rows), code)
    return rows.copy()


def array_to_image(array: np.ndarray, stamp=None, frame_id: str = ""):
    """A (height, width, 3) uint8 RGB array as an rgb8 sensor_msgs/Image."""
    from sensor_msgs.msg import Image

    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ImageError(f"expected a (H, W, 3) uint8 array, got {array.dtype} {array.shape}")
    msg = Image()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, int(array.shape[1]) * 3
    msg.data = np.ascontiguousarray(array).tobytes()
    return msg
