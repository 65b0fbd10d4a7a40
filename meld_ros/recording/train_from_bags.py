"""``./meld train --from-bags DIR [--from-bags DIR ...] --run-dir NEW ...``: meld's ``train`` command, its new
run's replay seeded with the training trials recorded in bags (``bag_trials``); everything else as
``meld train`` (``meld_core/cli.py``), which leaves reading bags to this side."""
from __future__ import annotations

import sys

from meld_core import cli
from meld_ros.recording.bag_trials import trials_from_bags


def bag_trials(directories, spec):
    return trials_from_bags(directories, spec.episode_length, spec.episodes_per_trial, spec.action_dim,
                            (*spec.image_shape, 3))


def main(argv=None) -> int:
    return cli.main(sys.argv[1:] if argv is None else argv, bag_trials=bag_trials)


if __name__ == "__main__":
    raise SystemExit(main())
