"""The insertion sensor on a sysfs-like tree (a carrier file as the kernel writes it)."""
import pytest

from meld_ros.hardware.insertion_sensor import LinkSensor, SensorError


def test_the_carrier_file_says_whether_the_plug_is_seated(tmp_path):
    (tmp_path / "eth1").mkdir()
    carrier = tmp_path / "eth1" / "carrier"
    carrier.write_text("0\n")
    sensor = LinkSensor("eth1", sysfs=tmp_path)
    assert not sensor.inserted()
    carrier.write_text("1\n")
    assert sensor.inserted()


def test_a_missing_interface_is_named_and_an_unreadable_carrier_is_an_error(tmp_path):
    (tmp_path / "eth0").mkdir()
    with pytest.raises(SensorError, match="no network interface 'eth9'.*eth0"):
        LinkSensor("eth9", sysfs=tmp_path)
    sensor = LinkSensor("eth0", sysfs=tmp_path)                 # no carrier file in it
    with pytest.raises(SensorError, match="cannot read"):
        sensor.inserted()


def test_reads_the_real_sysfs_of_this_machine():
    """The loopback interface of this machine, as the kernel reports it: up, so its carrier is 1."""
    import subprocess

    state = subprocess.run(["cat", "/sys/class/net/lo/operstate"], capture_output=True, text=True).stdout.strip()
    if state not in ("up", "unknown"):
        pytest.skip(f"loopback is {state!r} here")
    assert LinkSensor("lo").inserted()
