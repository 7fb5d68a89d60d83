"""A text corpus tokenized once: the fitted tokenizer and the token cache, both on disk.

The token cache has the layout of the music cache (see :mod:`musicgen.data.cache`) with
one document per split, train, val, test in that order, each the split's whole token
stream. Beside it lies the tokenizer fitted on the training split,
``<name>-tokenizer-<key16>.json``, keyed by the tokenizer spec and the training text, so
a second run loads it instead of fitting again. No torch here.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.data.cache import TokenCache, build_once, manifest_head, token_dtype
from musicgen.data.documents import file_sha256
from musicgen.data.text_corpus import SPLITS, TextCorpus
from musicgen.tokenizers import Tokenizer, config_hash, fit_tokenizer, load_tokenizer
from musicgen.tokenizers.base import canonical_json
from musicgen.tokenizers.word import count_words, split_lines

FORMAT_VERSION = 1
CHUNK_CHARS = 1 << 20  # encode about 1 MB of text at a time: few Python ints alive at once


def tokenizer_file(spec: Mapping[str, Any], corpus: TextCorpus, cache_dir: str | Path, name: str):
    """Where the tokenizer that ``spec`` fits on this corpus's training text is kept."""
    h = hashlib.sha256(f"musicgen-text-tokenizer-v{FORMAT_VERSION}".encode())
    h.update(canonical_json(dict(spec)).encode())
    h.update(corpus.digests["train"].encode())
    return Path(cache_dir) / f"{name}-tokenizer-{h.hexdigest()[:16]}.json"


def fit_or_load_tokenizer(
    spec: Mapping[str, Any], corpus: TextCorpus, cache_dir: str | Path, name: str
) -> Tokenizer:
    """The tokenizer fitted on the training split, fitted now or read from a past run.

    Safe when several processes (DDP ranks) call it at once: each writes its own temporary
    file and the first to finish publishes it; every process then reads that one file, so
    all ranks hold the same tokenizer.
    """
    path = tokenizer_file(spec, corpus, cache_dir, name)
    if not path.is_file():
        tokenizer = fit_tokenizer(spec, [corpus.texts["train"]])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tokenizer.save(tmp)
        _publish(tmp, path)
    return load_tokenizer(path)


def _publish(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless another process got there first (then keep theirs)."""
    try:
        os.link(tmp, path)  # fails if path exists: the first writer wins
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: last writer wins, still atomic
        os.replace(tmp, path)
        return
    tmp.unlink()


def text_cache_folder(
    corpus: TextCorpus, tokenizer: Tokenizer, cache_dir: str | Path, name: str
) -> Path:
    """The folder of this corpus's token cache (whether or not it is built yet)."""
    h = hashlib.sha256(f"musicgen-text-cache-v{FORMAT_VERSION}".encode())
    h.update(config_hash(tokenizer).encode())
    for split in SPLITS:
        h.update(f"{split}:{corpus.digests[split]}\n".encode())
    return Path(cache_dir) / f"{name}-{h.hexdigest()[:16]}"


def prepare_text_cache(
    corpus: TextCorpus, tokenizer: Tokenizer, cache_dir: str | Path, name: str
) -> TokenCache:
    """Tokenize the three splits into a cache folder, or reuse the one the same inputs made.

    Args:
        corpus: the split texts.
        tokenizer: fitted on ``corpus``'s training split.
        cache_dir: where cache folders live.
        name: a readable prefix for the folder (the corpus name).
    """
    final = text_cache_folder(corpus, tokenizer, cache_dir, name)
    key = final.name.rsplit("-", 1)[1]
    return build_once(final, lambda tmp: _write(tmp, corpus, tokenizer, name, key))


def encode_stream(tokenizer: Tokenizer, text: str, dtype: np.dtype) -> np.ndarray:
    """``tokenizer.encode(text)`` as an array, encoded in chunks that end at a newline.

    Every text tokenizer encodes line by line, so chunks cut after a newline give the
    same ids as the whole text does.
    """
    parts = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + CHUNK_CHARS)
        end = len(text) if end < 0 else end + 1
        parts.append(np.asarray(tokenizer.encode(text[start:end]), dtype=dtype))
        start = end
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _write(folder: Path, corpus: TextCorpus, tokenizer: Tokenizer, name: str, key: str) -> dict:
    """Write tokens.bin and offsets.npy into ``folder``; returns the manifest (not yet written)."""
    vocab_size = tokenizer.vocab_size
    dtype = token_dtype(vocab_size)
    offsets = [0]
    stats = {}
    with open(folder / "tokens.bin", "wb") as out:
        for split in SPLITS:
            text = corpus.texts[split]
            ids = encode_stream(tokenizer, text, dtype)
            out.write(ids.tobytes())
            offsets.append(offsets[-1] + len(ids))
            if split == "train":  # the unigram baseline is what training alone teaches
                token_counts = np.bincount(ids, minlength=vocab_size)
            stats[split] = {
                "tokens": len(ids),
                "words": count_words(text),
                "lines": len(split_lines(text)),
                "characters": len(text),
            }
    np.save(folder / "offsets.npy", np.asarray(offsets, dtype=np.int64))
    return {
        **manifest_head(name, key, dtype, tokenizer),
        "sources": [{"path": str(p), "sha256": file_sha256(p)} for p in corpus.sources],
        "counts": {"files": len(corpus.sources), "documents": len(SPLITS), "tokens": offsets[-1]},
        "token_counts": token_counts.tolist(),
        "splits": stats,
        "document_fields": ["split"],
        "documents": [[split] for split in SPLITS],
    }
