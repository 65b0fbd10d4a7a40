"""Weights as data: split into chunks, put together in any order, checked (plain unit tests)."""
import hashlib

import pytest

from meld_ros.rosfree.weights_transfer import WeightsAssembler, WeightsTransferError, split


def _chunks(data, size):
    parts = split(data, size)
    sha = hashlib.sha256(data).hexdigest()
    return [(sha, len(data), k, len(parts), p) for k, p in enumerate(parts)]


def test_split_and_reassemble_in_any_order_with_repeats():
    data = bytes(range(256)) * 40
    parts = _chunks(data, 1000)
    assert len(parts) == 11 and split(b"", 10) == [b""]
    a = WeightsAssembler()
    order = [3, 0, 3, 10, 1, 2, 4, 5, 6, 7, 8]
    assert all(a.add("run", 1, *parts[k]) is None for k in order)
    assert a.add("run", 1, *parts[9]) == data
    assert a.add("run", 1, *parts[9]) is None                   # a finished version is not delivered again


def test_a_newer_version_replaces_an_incomplete_one_and_older_ones_are_ignored():
    old, new = b"old weights" * 100, b"new weights" * 100
    a = WeightsAssembler()
    assert a.add("run", 1, *_chunks(old, 300)[0]) is None
    got = [a.add("run", 2, *c) for c in _chunks(new, 300)]
    assert got[-1] == new
    assert all(a.add("run", 1, *c) is None for c in _chunks(old, 300))       # late chunks of version 1
    assert a.add("other-run", 1, *_chunks(old, 5000)[0]) == old               # runs are kept apart


def test_bytes_that_do_not_make_the_announced_file_are_refused():
    data = b"weights" * 100
    sha, size, _, n, _ = _chunks(data, 300)[0]
    a = WeightsAssembler()
    parts = _chunks(data, 300)
    a.add("run", 1, *parts[0])
    a.add("run", 1, *parts[1])
    with pytest.raises(WeightsTransferError, match="sha256"):
        a.add("run", 1, sha, size, 2, n, b"x" * len(parts[2][4]))             # a corrupted last chunk
    with pytest.raises(WeightsTransferError, match="does not fit"):
        a.add("run", 3, sha, size, 5, n, b"")                                 # chunk index out of range
    with pytest.raises(WeightsTransferError, match="bytes arrived"):
        a.add("run", 4, sha, size + 1, 0, 1, data)                            # one chunk, wrong size
