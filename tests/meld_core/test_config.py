import pytest

from meld_core.config import ConfigError, config_from_dict, load_config


@pytest.mark.parametrize("profile", ["paper", "cpu", "tiny"])
def test_profiles_load_and_round_trip(profile):
    cfg = load_config(profile)
    assert config_from_dict(cfg.to_dict()) == cfg


def test_paper_profile_has_the_papers_sizes():
    cfg = load_config("paper")
    assert cfg.model.conv_channels == (32, 64, 128, 256, 256)
    assert (cfg.model.z1_dim, cfg.model.z2_dim) == (32, 256)
    assert (cfg.sac.actor_lr, cfg.model.lr, cfg.sac.tau, cfg.sac.gamma) == (3e-4, 1e-4, 0.005, 0.99)
    assert cfg.sac.batch_size == 512 and cfg.train.replay_capacity == 100_000


def test_overrides():
    cfg = load_config("cpu", ["train.iterations=7", "model.reward_input=none"])
    assert cfg.train.iterations == 7 and cfg.model.reward_input == "none"


@pytest.mark.parametrize("override, match", [
    (["train.iterationz=3"], "unknown keys in train"),
    (["nosection.x=1"], "unknown section"),
    (["train.iterations=abc"], "train.iterations must be a number"),
    (["train.iterations=2.5"], "must be an integer"),
    (["model.reward_input=shaped"], "reward_input"),
    (["iterations=3"], "section.key=value"),
    (["sac.policy_input=history"], "policy_input"),
    (["model.decode_fraction=0"], "decode_fraction"),
])
def test_bad_parameters_give_clear_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config("cpu", override)


def test_unknown_profile():
    with pytest.raises(ConfigError, match="profiles in"):
        load_config("nonexistent")


def test_missing_key(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("model: {z1_dim: 3}\n")
    with pytest.raises(ConfigError, match="missing keys in model"):
        load_config(str(p))


def test_retired_options_load_when_off_and_are_refused_when_on():
    """A saved config with an option that left meld loads if the option was off (the run did what meld does
    now) and is refused, naming the option, if it was on."""
    saved = load_config("tiny").to_dict()
    saved["sac"]["cache_transitions"] = 0
    saved["train"]["precision"] = "fp32"
    assert config_from_dict(saved) == load_config("tiny")
    saved["train"]["precision"] = "bf16"
    with pytest.raises(ConfigError, match="train.precision='bf16'.*left meld"):
        config_from_dict(saved)
