"""Drivers of the real robot's devices, free of ROS: each speaks its device's protocol through the
vendor's library and is tested against an emulator of that protocol (tests/support/). The hardware
nodes are thin adapters over them."""
