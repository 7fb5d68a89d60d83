"""What every Score a reader returns must satisfy, and a sandbox to run untrusted input in."""

from __future__ import annotations

import math
import os
import resource
import signal
import traceback
from fractions import Fraction

from musicgen.music import Score
from musicgen.music.limits import MAX_SPAN_QUARTERS


def assert_valid_score(score: Score) -> None:
    """Every field in range: pitches, velocities and programs 0-127, times at or after 0
    and within ``MAX_SPAN_QUARTERS``, tempos positive and finite, meters positive."""
    assert isinstance(score, Score)
    for n in score.notes:
        assert isinstance(n.pitch, int) and 0 <= n.pitch <= 127, n
        assert isinstance(n.start, Fraction) and isinstance(n.duration, Fraction), n
        assert n.start >= 0 and n.duration >= 0 and n.end <= MAX_SPAN_QUARTERS, n
        assert 1 <= n.velocity <= 127 and 0 <= n.program <= 127, n
    assert [n.start for n in score.notes] == sorted(n.start for n in score.notes)
    for t in score.tempos:
        assert t.start >= 0 and math.isfinite(t.qpm) and t.qpm > 0, t
    for ts in score.time_signatures:
        assert ts.start >= 0 and ts.numerator > 0 and ts.denominator > 0, ts
    assert 0 <= score.pickup <= MAX_SPAN_QUARTERS


# Per example, on top of what the process already uses: far beyond what a real tune
# needs (milliseconds, a few MB), far below a hang or memory in proportion to a number.
CPU_SECONDS = 5
MEMORY_BYTES = 512 << 20


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def run_bounded(body, *args) -> None:
    """Run ``body(*args)`` in a forked child limited to ``CPU_SECONDS`` of CPU and
    ``MEMORY_BYTES`` more address space; fail with the child's traceback, or with the
    limit it ran into (a hang, a MemoryError, a crash)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        code = 0
        try:
            limit = _vm_size() + MEMORY_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
            signal.alarm(10 * CPU_SECONDS)  # a child that waits instead of computing
            body(*args)
        except BaseException:
            os.write(write_end, traceback.format_exc()[-4000:].encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise AssertionError(f"killed by {name} (CPU limit {CPU_SECONDS} s, or a crash)")
    assert os.WEXITSTATUS(status) == 0, report
