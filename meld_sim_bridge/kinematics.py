"""Inverse kinematics for the arms of the suite (pure functions over MjModel/MjData).

Damped least squares on a site's pose: with the site Jacobian J (rows: 3
translational, optionally 3 rotational) over the chosen joints and the pose
error e (position difference; orientation as the axis-angle of
q_target * q_site^-1),

    dq = J^T (J J^T + lambda^2 I)^-1 e,

applied with a step limit and clipped to the joint ranges, repeated until the
error is small. Uses only ``mj_kinematics`` / ``mj_comPos`` (no dynamics), so it
leaves the simulation's velocities alone. Used for the arms' home poses and the
scripted controllers of the tests.
"""
from __future__ import annotations

import numpy as np

from meld_sim_bridge.rendering import mujoco


def joint_ids(model: mujoco.MjModel, names: list[str]) -> np.ndarray:
    ids = []
    for n in names:
        j = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n)
        if j < 0:
            raise ValueError(f"joint {n!r} not in the model")
        ids.append(j)
    return np.array(ids)


def orientation_error(target_quat: np.ndarray, current_mat: np.ndarray) -> np.ndarray:
    """Axis-angle vector (world frame) rotating the current orientation onto the target."""
    cur = np.zeros(4)
    mujoco.mju_mat2Quat(cur, current_mat.reshape(9))
    inv = np.zeros(4)
    mujoco.mju_negQuat(inv, cur)
    diff = np.zeros(4)
    mujoco.mju_mulQuat(diff, target_quat / np.linalg.norm(target_quat), inv)
    err = np.zeros(3)
    mujoco.mju_quat2Vel(err, diff, 1.0)
    return err


def solve_ik(model: mujoco.MjModel, data: mujoco.MjData, site: str, target_pos: np.ndarray,
             joints: list[str], target_quat: np.ndarray | None = None, iterations: int = 200,
             damping: float = 1e-2, max_step: float = 0.2, tol: float = 1e-4,
             orientation_weight: float = 1.0) -> tuple[np.ndarray, float]:
    """Move ``joints`` in ``data.qpos`` so that ``site`` reaches the target pose.

    ``orientation_weight`` (metres per radian) trades the orientation rows against the
    position rows: an arm with fewer than 6 joints (the 5-DoF WidowX) cannot meet every
    orientation, and a small weight keeps the position exact and the orientation best-effort.
    Returns (qpos of those joints, final position error in metres). ``data.qpos``
    is updated in place; the kinematics of ``data`` are left consistent with it.
    """
    sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site)
    if sid < 0:
        raise ValueError(f"site {site!r} not in the model")
    jids = joint_ids(model, joints)
    qadr, dadr = model.jnt_qposadr[jids], model.jnt_dofadr[jids]
    lo, hi = model.jnt_range[jids, 0], model.jnt_range[jids, 1]
    limited = model.jnt_limited[jids].astype(bool)
    jacp, jacr = np.zeros((3, model.nv)), np.zeros((3, model.nv))
    err_pos = np.inf
    for _ in range(iterations):
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        e = np.asarray(target_pos) - data.site_xpos[sid]
        err_pos = float(np.linalg.norm(e))
        mujoco.mj_jacSite(model, data, jacp, jacr, sid)
        J = jacp[:, dadr]
        if target_quat is not None:
            w = orientation_weight
            e = np.concatenate([e, w * orientation_error(np.asarray(target_quat, float), data.site_xmat[sid])])
            J = np.vstack([J, w * jacr[:, dadr]])
        if np.linalg.norm(e) < tol:
            break
        if target_quat is not None and err_pos < tol and _ > 50 and np.linalg.norm(e[3:]) < 1e-3 * max(w, 1e-9):
            break
        dq = J.T @ np.linalg.solve(J @ J.T + damping**2 * np.eye(len(e)), e)
        n = np.linalg.norm(dq)
        if n > max_step:
            dq *= max_step / n
        q = data.qpos[qadr] + dq
        q[limited] = np.clip(q[limited], lo[limited], hi[limited])
        data.qpos[qadr] = q
    mujoco.mj_kinematics(model, data)
    return data.qpos[qadr].copy(), err_pos
