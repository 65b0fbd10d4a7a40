"""sensor_msgs/Image conversion: encodings, padding, and malformed messages."""
import numpy as np
import pytest

pytest.importorskip("sensor_msgs")
from sensor_msgs.msg import Image  # noqa: E402

from meld_ros.rosfree.images import ImageError, array_to_image, image_to_array  # noqa: E402


def test_rgb_round_trip():
    a = np.random.default_rng(0).integers(0, 256, (64, 128, 3), dtype=np.uint8)
    back = image_to_array(array_to_image(a))
    assert np.array_equal(a, back)


def test_bgr_mono_and_row_padding():
    rgb = np.random.default_rng(1).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    msg = Image(height=4, width=5, encoding="bgr8", step=16)            # 15 bytes + 1 padding per row
    rows = np.zeros((4, 16), np.uint8)
    rows[:, :15] = rgb[:, :, ::-1].reshape(4, 15)
    msg.data = rows.tobytes()
    assert np.array_equal(image_to_array(msg), rgb)
    mono = Image(height=2, width=3, encoding="mono8", step=3, data=bytes(range(6)))
    assert image_to_array(mono).shape == (2, 3, 3)


@pytest.mark.parametrize("fields, match", [
    (dict(height=4, width=4, encoding="rgb8", step=12, data=bytes(47)), "bytes of data"),
    (dict(height=4, width=4, encoding="32FC1", step=16, data=bytes(64)), "unsupported encoding"),
    (dict(height=4, width=4, encoding="rgb8", step=8, data=bytes(32)), "shorter than a row"),
    (dict(height=0, width=4, encoding="rgb8", step=12, data=b""), "empty"),
])
def test_malformed_images_rejected(fields, match):
    with pytest.raises(ImageError, match=match):
        image_to_array(Image(**fields))
