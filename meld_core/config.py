"""Typed configuration loaded from ``params/<profile>.yaml``.

The YAML files are the one source of truth for values: every field is
documented there, and the dataclasses below have no defaults, so a missing or
unknown key is an error that names it. A profile may start from another with
``base: <profile>`` and override only some keys. Command-line overrides use
dotted keys: ``train.iterations=10``.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PARAMS_DIR = Path(__file__).resolve().parent.parent / "params"


class ConfigError(ValueError):
    """A parameter file or override is wrong; the message names the key."""


def _one_of(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key} must be {' or '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    z1_dim: int
    z2_dim: int
    hidden: int
    conv_channels: tuple[int, ...]
    image_std: float
    reward_tile: int
    reward_weight: float
    reward_input: str
    reward_target: str
    min_std: float
    lr: float
    grad_clip: float
    decode_fraction: float
    task_decoder_weight: float
    task_decoder_std: float
    z2_transition: str

    def __post_init__(self):
        if len(self.conv_channels) != 5:
            raise ConfigError(f"model.conv_channels needs 5 entries (the paper's 5 conv layers), got {self.conv_channels}")
        _one_of("model.reward_input", self.reward_input, ("dense", "sparse", "none"))
        _one_of("model.reward_target", self.reward_target, ("dense", "sparse"))
        _one_of("model.z2_transition", self.z2_transition, ("stochastic", "deterministic"))
        for name in ("z1_dim", "z2_dim", "hidden", "reward_tile"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1")
        if self.image_std <= 0 or self.min_std <= 0 or self.lr <= 0:
            raise ConfigError("model.image_std, model.min_std and model.lr must be > 0")
        if not 0.0 < self.decode_fraction <= 1.0:
            raise ConfigError(f"model.decode_fraction must be in (0, 1], got {self.decode_fraction}")
        if self.task_decoder_weight < 0 or self.task_decoder_std <= 0:
            raise ConfigError(f"model.task_decoder_weight must be >= 0 and model.task_decoder_std > 0, got "
                              f"{self.task_decoder_weight}, {self.task_decoder_std}")


@dataclass(frozen=True)
class SACConfig:
    hidden: int
    actor_lr: float
    critic_lr: float
    alpha_lr: float
    gamma: float
    tau: float
    init_alpha: float
    target_entropy: float | None
    critic_reward: str
    policy_input: str
    batch_size: int

    def __post_init__(self):
        if not 0 <= self.gamma < 1 or not 0 < self.tau <= 1:
            raise ConfigError("sac.gamma must be in [0, 1) and sac.tau in (0, 1]")
        _one_of("sac.critic_reward", self.critic_reward, ("dense", "sparse"))
        _one_of("sac.policy_input", self.policy_input, ("sample", "belief"))
        if self.init_alpha <= 0 or self.batch_size < 1:
            raise ConfigError("sac.init_alpha must be > 0 and sac.batch_size >= 1")


@dataclass(frozen=True)
class TrainConfig:
    env: str
    env_kwargs: dict
    seed: int
    episodes_per_trial: int | None
    pretrain_trials: int
    pretrain_model_steps: int
    iterations: int
    trials_per_iteration: int
    model_steps_per_env_step: float
    ac_steps_per_env_step: float
    batch_trials: int
    replay_capacity: int
    eval_every: int
    eval_trials_per_task: int
    eval_deterministic: bool
    checkpoint_every: int
    log_images_every: int
    time_budget_s: float | None
    torch_threads: int
    init_replay_from: str | None

    def __post_init__(self):
        for name in ("iterations", "trials_per_iteration", "batch_trials", "replay_capacity",
                     "eval_every", "eval_trials_per_task", "checkpoint_every", "torch_threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.model_steps_per_env_step < 0 or self.ac_steps_per_env_step < 0:
            raise ConfigError("train.*_steps_per_env_step must be >= 0")



@dataclass(frozen=True)
class MeldConfig:
    profile: str
    model: ModelConfig
    sac: SACConfig
    train: TrainConfig

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SECTIONS = {"model": ModelConfig, "sac": SACConfig, "train": TrainConfig}


def _read_profile(name_or_path: str, seen: tuple = ()) -> dict:
    path = Path(name_or_path)
    if not path.suffix:
        path = PARAMS_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise ConfigError(f"no parameter file {path}; profiles in {PARAMS_DIR}: {known}")
    if path in seen:
        raise ConfigError(f"parameter files include each other in a loop: {seen + (path,)}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    base = data.pop("base", None)
    if base is None:
        return data
    merged = _read_profile(base, seen + (path,))
    for section, values in data.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **values}
        else:
            merged[section] = values
    return merged


def _coerce(section: str, f: dataclasses.Field, value: Any, hints: dict) -> Any:
    hint = hints[f.name]
    key = f"{section}.{f.name}"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key} must not be empty")
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    if typing.get_origin(base) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        elem = typing.get_args(base)[0]
        try:
            return tuple(elem(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a list of {elem.__name__}, got {value!r}") from None
    if base is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if base in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        if base is int and float(value) != int(value):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return base(value)
    if base is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {hint}")  # pragma: no cover


def _parse_override(text: str) -> tuple[str, str, Any]:
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"override {text!r} must look like section.key=value (e.g. train.iterations=10)")
    key, raw = text.split("=", 1)
    section, name = key.split(".", 1)
    try:
        return section, name, yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: the value is not valid YAML ({exc})") from None


def load_config(profile: str = "cpu", overrides: list[str] | dict | None = None) -> MeldConfig:
    """Load ``params/<profile>.yaml`` (or a path) with ``section.key=value`` overrides."""
    data = _read_profile(profile)
    items = overrides.items() if isinstance(overrides, dict) else [
        (f"{s}.{n}", v) for s, n, v in map(_parse_override, overrides or [])]
    for dotted, value in items:
        section, name = dotted.split(".", 1)
        if section not in _SECTIONS:
            raise ConfigError(f"unknown section {section!r} in override {dotted!r}; sections: {sorted(_SECTIONS)}")
        data.setdefault(section, {})[name] = value
    return _build(data, str(profile))


def _build(data: dict, profile: str) -> MeldConfig:
    unknown = set(data) - set(_SECTIONS) - {"profile"}
    if unknown:
        raise ConfigError(f"unknown sections {sorted(unknown)}; sections: {sorted(_SECTIONS)}")
    built = {section: build_dataclass(cls, data.get(section) or {}, section) for section, cls in _SECTIONS.items()}
    return MeldConfig(profile=profile, **built)


def build_dataclass(cls, values: dict, section: str):
    """``cls(**values)`` with every field present, no unknown keys, and values of the
    annotated types (ConfigError naming ``section.key`` otherwise)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    extra = set(values) - set(fields)
    if extra:
        raise ConfigError(f"unknown keys in {section}: {sorted(extra)}; known: {sorted(fields)}")
    missing = set(fields) - set(values)
    if missing:
        raise ConfigError(f"missing keys in {section}: {sorted(missing)}")
    hints = typing.get_type_hints(cls)
    return cls(**{n: _coerce(section, f, values[n], hints) for n, f in fields.items()})


#: options that left meld after an experiment showed no gain, with the value that meant "off": a saved
#: config holding one at that value loads (the run did what meld does now); at another value it is refused
RETIRED = {"model": {"prior_reward_weight": 0.0},
           "sac": {"cache_transitions": 0},
           "train": {"init_explore_trials": 0, "precision": "fp32", "channels_last": False}}


def complete_saved(data: dict) -> dict:
    """A config saved by an older meld, with the keys added since then filled in: each takes the
    ``paper`` profile's value, which is what meld did before the key existed (a new option is off in
    ``paper``). Retired keys (``RETIRED``) are dropped at their "off" value and refused at another.
    Keys it has are kept as saved; unknown ones are left for ``_build`` to refuse."""
    defaults = _read_profile("paper")
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for section in _SECTIONS:
        if isinstance(out.get(section), dict):
            for key, off in RETIRED.get(section, {}).items():
                if key in out[section]:
                    if out[section][key] != off:
                        raise ConfigError(f"{section}.{key}={out[section][key]!r}: this option left meld after "
                                          f"measurements showed no gain (docs/research_log.md); a run made with it "
                                          f"can be read with the meld it was made with")
                    del out[section][key]
            for key, value in (defaults.get(section) or {}).items():
                out[section].setdefault(key, value)
    return out


def config_from_dict(data: dict) -> MeldConfig:
    """Rebuild a config saved with ``MeldConfig.to_dict`` (e.g. from a checkpoint; keys added to meld
    since it was saved take their ``paper`` values: ``complete_saved``)."""
    return _build(complete_saved(data), str(data.get("profile", "saved")))
