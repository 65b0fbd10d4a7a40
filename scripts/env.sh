# Environment for running meld from this checkout (sourced by ./meld).
# shellcheck shell=bash
_meld_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
source "$_meld_root/.venv/bin/activate"
# colcon's setup.sh reads these; the venv is the underlay for the ROS 2 wheels.
export AMENT_PREFIX_PATH="$_meld_root/.venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
COLCON_CURRENT_PREFIX="$_meld_root/install" . "$_meld_root/install/setup.sh"
# Headless MuJoCo rendering on the CPU.
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
# ROS 2: discovery on this machine only.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
unset _meld_root
