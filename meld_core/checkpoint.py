"""Checkpoints that resume training exactly, loaded without arbitrary unpickling.

A run directory holds ``checkpoint.pt`` (networks, optimizers, entropy weight,
counters, RNG states, config, evaluation history; read with
``torch.load(weights_only=True)``, which accepts tensors and plain containers
only) and the replay it names, ``replay-<stamp>.npz`` (numpy arrays, read
with ``allow_pickle=False``). Saving writes the new replay, then atomically
replaces the checkpoint, then deletes older replays: a crash at any moment
leaves a complete, consistent pair. A corrupt, foreign or mismatched file
raises CheckpointError with the reason and leaves every file untouched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from meld_core.lock_file import LockHeld, hold

FORMAT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.pt"
LOCK_FILE = ".meld.lock"


def replay_file_name(stamp: str) -> str:
    return f"replay-{stamp}.npz"


def replay_path_of(run_dir: Path) -> Path:
    """The replay file that the checkpoint in ``run_dir`` belongs to."""
    payload = load_checkpoint(Path(run_dir) / CHECKPOINT_FILE)
    return Path(run_dir) / replay_file_name(str(payload.get("stamp")))


def remove_stale_replays(run_dir: Path, keep: str) -> None:
    for p in Path(run_dir).glob("replay-*.npz"):
        if p.name != keep:
            p.unlink(missing_ok=True)


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used; the message says why."""


def lock_run_dir(run_dir: Path):
    """Hold ``run_dir`` for writing (a lock file inside it, held until the returned file is closed or
    the process ends). Two trainers on one run directory would overwrite each other's checkpoints and
    replay; the second gets CheckpointError naming the first's process."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return hold(run_dir / LOCK_FILE)
    except LockHeld as held:
        raise CheckpointError(f"{run_dir} is being written by another meld process (pid {held.holder}); "
                              f"choose another run directory") from None


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    payload = {"format_version": FORMAT_VERSION, **payload}
    tmp = Path(str(path) + ".tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    return read_checkpoint(path, str(path))


def read_checkpoint(source, name: str) -> dict[str, Any]:
    """A checkpoint from a path or a binary file object (bytes that came over the network), ``name`` for
    messages: tensors and plain containers only (``torch.load(weights_only=True)``)."""
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"checkpoint {name} is corrupt or not a meld checkpoint "
                              f"({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        version = payload.get("format_version") if isinstance(payload, dict) else None
        raise CheckpointError(f"checkpoint {name} has format version {version!r}; this meld reads {FORMAT_VERSION}")
    return payload


def compare_configs(saved: dict, current: dict, fixed: dict[str, tuple[str, ...]]) -> list[str]:
    """Keys (section.key) whose values differ where they must not (``fixed``: section -> keys, () = all)."""
    diffs = []
    for section, keys in fixed.items():
        a, b = saved.get(section, {}), current.get(section, {})
        for k in keys or sorted(set(a) | set(b)):
            va, vb = a.get(k), b.get(k)
            if isinstance(va, (list, tuple)) and isinstance(vb, (list, tuple)):
                va, vb = list(va), list(vb)
            if va != vb:
                diffs.append(f"{section}.{k}: checkpoint {va!r} vs now {vb!r}")
    return diffs


# ---- a run directory as a whole -------------------------------------------------------------
def save_run(run_dir: Path, stamp: str, state: dict[str, Any], replay) -> None:
    """Write ``replay`` (a MultiTaskReplay) as ``replay-<stamp>.npz``, then ``state`` (plain containers
    and tensors: configuration, task spec, networks, optimizers, progress, generator states) as the
    checkpoint naming that replay, then delete older replays: a crash at any moment leaves a pair."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    replay.save(run_dir / replay_file_name(stamp), stamp)
    save_checkpoint(run_dir / CHECKPOINT_FILE, {"stamp": stamp, **state})
    remove_stale_replays(run_dir, keep=replay_file_name(stamp))


def read_run(run_dir: Path, current_config: dict, fixed: dict[str, tuple[str, ...]]):
    """The checkpoint of ``run_dir`` and the replay it names, checked against each other and against
    ``current_config`` (keys in ``fixed`` must match: ``compare_configs``); CheckpointError otherwise."""
    from meld_core.config import complete_saved
    from meld_core.replay import MultiTaskReplay

    run_dir = Path(run_dir)
    payload = load_checkpoint(run_dir / CHECKPOINT_FILE)
    diffs = compare_configs(complete_saved(payload.get("config", {})), current_config, fixed)
    if diffs:
        raise CheckpointError(f"checkpoint in {run_dir} was made with a different configuration: " + "; ".join(diffs))
    replay_file = run_dir / replay_file_name(str(payload.get("stamp")))
    try:
        replay = MultiTaskReplay.load(replay_file)
    except Exception as exc:
        raise CheckpointError(f"replay {replay_file} is missing or corrupt ({type(exc).__name__}: {exc})") from None
    if replay.stamp != payload.get("stamp"):
        raise CheckpointError(f"replay and checkpoint in {run_dir} are from different moments "
                              f"({replay.stamp} vs {payload.get('stamp')}); the run was interrupted while saving")
    return payload, replay


def saved_config_and_spec(payload: dict, run_dir: Path):
    """(MeldConfig, TaskSpec) of a checkpoint's payload. A checkpoint from before specs were saved gets
    the spec of its simulated environment (``task_spec.simulated_task_spec``)."""
    from meld_core.config import config_from_dict
    from meld_core.task_spec import TaskSpec, simulated_task_spec

    try:
        cfg = config_from_dict(payload["config"])
        if "spec" in payload:
            spec = TaskSpec.from_dict(payload["spec"])
        else:
            t = cfg.train
            spec = simulated_task_spec(t.env, t.env_kwargs, t.episodes_per_trial)
    except Exception as exc:
        raise CheckpointError(f"checkpoint in {run_dir} holds an unreadable configuration or task spec: "
                              f"{type(exc).__name__}: {str(exc)[:300]}") from None
    return cfg, spec


def load_agent(run_dir: str | Path):
    """The trained agent of the run in ``run_dir``: (MeldAgent with the latent model and actor as last
    saved, in eval mode; the TaskSpec it was trained on; its MeldConfig). Nothing else of the run (replay,
    optimizers) is read."""
    from meld_core.agent import MeldAgent
    from meld_core.algorithm import build_networks

    run_dir = Path(run_dir)
    payload = load_checkpoint(run_dir / CHECKPOINT_FILE)
    cfg, spec = saved_config_and_spec(payload, run_dir)
    model, sac = build_networks(cfg, spec.image_shape, spec.action_dim)
    try:
        model.load_state_dict(payload["model"])
        sac.load_state_dict(payload["sac"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint in {run_dir} does not fit its own configuration "
                              f"({type(exc).__name__}: {str(exc)[:300]})") from None
    model.eval()
    sac.actor.eval()
    return MeldAgent(model, sac.actor, cfg.model.reward_input, cfg.sac.policy_input), spec, cfg
