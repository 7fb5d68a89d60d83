"""Helpers shared by the entry points: building objects from configs, clean failures."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from musicgen.music import MusicFormatError


class UserError(Exception):
    """A problem with the user's input that deserves one line, not a traceback."""


USER_ERRORS = (UserError, MusicFormatError, FileNotFoundError, ValueError)


@contextlib.contextmanager
def fail_cleanly(program: str):
    """Turn the errors a user can cause into one clear line on stderr and exit status 2
    (also when Hydra's ``instantiate`` wraps them, as it does errors of a constructor)."""
    try:
        yield
    except MissingMandatoryValue as e:  # a ??? value the user must give, e.g. ckpt
        key = e.full_key or "a value"
        print(f"{program}: error: {key} is required: give {key}=... ({program} --help)",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2) from None
    except USER_ERRORS as e:
        print(f"{program}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except InstantiationException as e:
        if not isinstance(e.__cause__, USER_ERRORS):
            raise
        print(f"{program}: error: {e.__cause__}", file=sys.stderr)
        raise SystemExit(2) from None


def instantiate_data(cfg: DictConfig):
    """The data module a ``data`` config describes (its tokenizer built too)."""
    return instantiate(cfg, _convert_="all")


def command(name: str) -> str:
    """How to run the console script ``name`` from any shell: its full path beside this
    Python (a virtualenv's ``bin/``) when it is there, so a printed command runs as printed
    without activating anything."""
    script = Path(sys.executable).parent / name
    return str(script) if script.is_file() else name


class _Tee:
    """A text stream that also appends each finished line to a log file; of a line redrawn
    with carriage returns (a progress bar) only what was shown last goes to the log."""

    def __init__(self, stream, log) -> None:
        self.stream, self.log, self.pending = stream, log, ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.log.write(line.rsplit("\r", 1)[-1] + "\n")
        if lines:
            self.log.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        self.log.flush()

    def __getattr__(self, name: str):  # isatty, fileno, encoding ... of the real stream
        return getattr(self.stream, name)


@contextlib.contextmanager
def terminal_in_log() -> Iterator[None]:
    """Copy what the terminal shows (standard output and error) into Hydra's job log
    (``<run>/<app>.log``), which otherwise holds only logging records."""
    files = [h.baseFilename for h in logging.getLogger().handlers
             if isinstance(h, logging.FileHandler)]  # fmt: skip
    if not files:
        yield
        return
    with open(files[0], "a", encoding="utf-8") as log:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, log), _Tee(err, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = out, err
