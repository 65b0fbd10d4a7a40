"""The progress line: its text, its pace for a terminal, a launcher and a log."""
import io

from meld_core.progress_report import PREFIX, ProgressReporter, Status, StatusBoard


def _status(done, **kw):
    return Status(**{"job": "meta-train point2d (cpu)", "phase": "training", "done": done, "total": 30,
                     "unit": "model steps", "iteration": 4, "iterations": None, "env_steps": 1200,
                     "elapsed_s": 75.0, "left_s": 3725.0, **kw})


def test_text_says_phase_units_time_and_success():
    text = _status(7, success=[0.35, 0.4], success_at=3).text()
    assert text == ("meta-train point2d (cpu) | iteration 4 | training 7/30 model steps | 1:15 elapsed, ~1:02:05 left"
                    " | held-out success 35% / 40% (iteration 3) | 1,200 env steps")
    assert "~? left" in _status(1, left_s=None).text()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_rewrites_one_line_in_place():
    out = _Terminal()
    report = ProgressReporter(out)
    assert report.mode == "terminal"
    report(_status(1))
    report.line("a log message")
    report.close()
    text = out.getvalue()
    assert text.startswith("\r\x1b[2Kmeta-train") and "\r\x1b[2Ka log message\n\r\x1b[2Kmeta-train" in text
    assert text.endswith("\n")


def test_a_log_gets_a_line_now_and_then_and_at_every_evaluation(monkeypatch):
    monkeypatch.delenv("MELD_PROGRESS_LIVE", raising=False)
    out = io.StringIO()
    report = ProgressReporter(out)
    assert report.mode == "log"
    for k in range(1, 30):
        report(_status(k))                           # within 30 s: only the first
    report(_status(30, phase="evaluation"))          # phase changes to evaluation: a line
    report(_status(30, phase="collection", success=[0.5, 0.6], success_at=4))   # a new result: a line
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith(PREFIX) for line in lines)
    assert "training 1/30" in lines[0] and "evaluation" in lines[1] and "held-out success 50%" in lines[2]


def test_live_lines_for_a_launcher(monkeypatch):
    monkeypatch.setenv("MELD_PROGRESS_LIVE", "1")
    assert ProgressReporter(io.StringIO()).mode == "live"


def test_status_board_keeps_a_line_per_source_below_the_output():
    out = _Terminal()
    board = StatusBoard(out)
    board.line("[bridge] started")
    board.status("learner", "training 1/30")
    board.status("tester", "evaluation 2/10")
    board.line("[policy] hello")
    board.close()
    text = out.getvalue()
    assert text.startswith("[bridge] started\n")
    assert "\r\x1b[2K[policy] hello\n\r\x1b[2K[learner] training 1/30  ·  [tester] evaluation 2/10" in text
