"""Helpers shared by the entry points: building objects from configs, clean failures."""

from __future__ import annotations

import contextlib
import sys
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
