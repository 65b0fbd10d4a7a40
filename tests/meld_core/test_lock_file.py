"""A lock file held by one process at a time, naming its holder, released when the holder ends."""
import subprocess
import sys
import time

import pytest

from meld_core.lock_file import LockHeld, hold


def test_held_by_another_process_until_it_ends(tmp_path):
    path = tmp_path / "x.lock"
    other = subprocess.Popen([sys.executable, "-c", f"from meld_core.lock_file import hold; import time; "
                              f"h = hold({str(path)!r}); print('held', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as held:
            hold(path)
        assert held.value.holder == str(other.pid)
    finally:
        other.kill()                      # killed, not closed: the kernel releases the lock
        other.wait()
        other.stdout.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            fh = hold(path)
            break
        except LockHeld:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    fh.close()
