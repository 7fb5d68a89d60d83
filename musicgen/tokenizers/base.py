"""The protocol every tokenizer follows, and the JSON registry that rebuilds one from disk.

A tokenizer is plain data plus two functions (``encode``/``decode``). It travels inside
checkpoints and keys the token cache, so it must serialise to JSON and back without loss;
``to_dict()`` carries a ``"type"`` field that :func:`tokenizer_from_dict` dispatches on.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


@runtime_checkable
class Tokenizer(Protocol):
    """What the data modules, the Lightning module and the sampler rely on.

    ``encode`` takes the tokenizer's input (a :class:`~musicgen.music.Score`, a string)
    and ``decode`` gives it back, up to the tokenizer's documented loss.

    ``kind`` says what a run with this tokenizer is, the one place the rest of the code
    asks: ``"notes"`` (note tokens: samples are scores), ``"abc"`` (ABC text as characters:
    samples are read back as scores), ``"text"`` (words, pieces or characters of plain
    text: samples are printed, perplexity is counted per word) or ``"harmony"`` (a melody
    in, one chord per beat out: an encoder-decoder's pair of sequences).
    """

    kind: str

    @property
    def vocab(self) -> list[str]: ...

    @property
    def vocab_size(self) -> int: ...

    @property
    def pad_id(self) -> int: ...

    @property
    def bos_id(self) -> int: ...

    @property
    def eos_id(self) -> int: ...

    def encode(self, x: Any) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> Any: ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tokenizer: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer: ...


def register_tokenizer(type_name: str) -> Callable[[T], T]:
    """Class decorator: make ``tokenizer_from_dict`` build ``cls`` for ``{"type": type_name}``."""

    def decorate(cls: T) -> T:
        if _REGISTRY.get(type_name, cls) is not cls:
            raise ValueError(f"tokenizer type {type_name!r} is already registered")
        _REGISTRY[type_name] = cls
        return cls

    return decorate


def tokenizer_from_dict(d: dict[str, Any]) -> Tokenizer:
    """Rebuild any registered tokenizer from its ``to_dict()`` output.

    Raises:
        ValueError: if ``d`` has no ``"type"`` or names an unknown tokenizer type.
    """
    type_name = d.get("type")
    if type_name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown tokenizer type {type_name!r} (known: {known})")
    return _REGISTRY[type_name].from_dict(d)


def build_tokenizer(spec: Mapping[str, Any] | Tokenizer) -> Tokenizer:
    """The tokenizer a config names, ``{"type": "note", **constructor arguments}``.

    A tokenizer object is returned as it is, so code and tests can pass one directly.

    Raises:
        ValueError: for an unknown type or an argument its constructor does not take.
    """
    if not isinstance(spec, Mapping):
        return spec
    cls, options = _lookup(spec, "tokenizer")
    _check_options(cls.__init__, options, spec)
    return cls(**options)


def fit_tokenizer(spec: Mapping[str, Any], texts: Iterable[str]) -> Tokenizer:
    """Fit the tokenizer that ``spec`` names on ``texts`` (the training text only).

    Args:
        spec: ``{"type": "word" | "bpe" | "char", **options}``; the options are the keyword
            arguments of that class's ``fit`` (a Hydra ``DictConfig`` works too).
        texts: the training texts.

    Raises:
        ValueError: when ``spec`` names no tokenizer that learns from text, or passes an
            option its ``fit`` does not take.
    """
    cls, options = _lookup(spec, "text tokenizer", needs="fit")
    _check_options(cls.fit, options, spec, skip={"texts"})
    return cls.fit(texts, **options)


def _lookup(spec: Mapping[str, Any], what: str, needs: str | None = None) -> tuple[type, dict]:
    options = {str(k): v for k, v in spec.items()}
    type_name = options.pop("type", None)
    known = sorted(t for t, c in _REGISTRY.items() if needs is None or hasattr(c, needs))
    if type_name not in known:
        raise ValueError(f"{what} spec needs a type among {', '.join(known)}, got {type_name!r}")
    return _REGISTRY[type_name], options


def _check_options(fn: Callable, options: dict, spec: Mapping, skip: frozenset | set = frozenset()):
    accepted = set(inspect.signature(fn).parameters) - {"self", "cls", *skip}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(
            f"tokenizer spec {dict(spec)}: {spec.get('type')} tokenizers take no option"
            f" {', '.join(unknown)} (they take {', '.join(sorted(accepted))})"
        )


def canonical_json(d: dict[str, Any]) -> str:
    """The one JSON spelling of ``d``: sorted keys, no whitespace, so equal dicts hash equal."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(tokenizer: Tokenizer) -> str:
    """A stable sha256 hex digest of the tokenizer's settings and vocabulary (token-cache key)."""
    return hashlib.sha256(canonical_json(tokenizer.to_dict()).encode("utf-8")).hexdigest()


def save_tokenizer(tokenizer: Tokenizer, path: str | Path) -> None:
    """Write ``tokenizer.to_dict()`` as JSON to ``path``."""
    text = json.dumps(tokenizer.to_dict(), sort_keys=True, indent=1, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def load_tokenizer(path: str | Path, expect: type | None = None) -> Tokenizer:
    """Read a tokenizer saved by :func:`save_tokenizer` (or any tokenizer's ``save``).

    Raises:
        ValueError: if ``expect`` is given and the file holds another kind of tokenizer.
    """
    tok = tokenizer_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    if expect is not None and not isinstance(tok, expect):
        raise ValueError(f"{path} holds a {type(tok).__name__}, not a {expect.__name__}")
    return tok
