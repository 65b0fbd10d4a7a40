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


def _bt601(y, u, v):
    """RGB of one YUV triple by the BT.601 formulas (the reference the conversion is checked against)."""
    c, d, e = y - 16, u - 128, v - 128
    return np.clip(np.round([1.164 * c + 1.596 * e, 1.164 * c - 0.392 * d - 0.813 * e, 1.164 * c + 2.017 * d]),
                   0, 255)


@pytest.mark.parametrize("encoding, order", [("yuv422_yuy2", "Y0 U Y1 V"), ("yuv422", "U Y0 V Y1")])
def test_webcam_yuv422_is_converted_to_rgb(encoding, order):
    """usb_cam's default yuyv (yuv422_yuy2) and UYVY (yuv422): two pixels share U and V."""
    y0, y1, u, v = 180, 60, 90, 200
    values = {"Y0": y0, "Y1": y1, "U": u, "V": v}
    pair = bytes(values[k] for k in order.split())
    msg = Image(height=2, width=4, encoding=encoding, step=8, data=pair * 4)
    rgb = image_to_array(msg)
    assert rgb.shape == (2, 4, 3) and rgb.dtype == np.uint8
    np.testing.assert_allclose(rgb[0, 0], _bt601(y0, u, v), atol=3)
    np.testing.assert_allclose(rgb[1, 1], _bt601(y1, u, v), atol=3)
    with pytest.raises(ImageError, match="even width"):
        image_to_array(Image(height=1, width=3, encoding=encoding, step=6, data=bytes(6)))
