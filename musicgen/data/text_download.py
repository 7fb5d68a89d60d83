"""Fetch WikiText-2 (the copy in PyTorch's word-level language-model example), checked by sha256."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

# The commit that ../shared/data/text/wikitext-2 was copied from; pinned so the digests hold.
WIKITEXT2_URL = (
    "https://raw.githubusercontent.com/pytorch/examples/"
    "77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2/"
)
WIKITEXT2_SHA256 = {
    "train.txt": "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
    "valid.txt": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
    "test.txt": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
}


class ChecksumError(ValueError):
    """A downloaded file whose sha256 is not the one published for it."""


def download_wikitext2(root: str | Path, base_url: str = WIKITEXT2_URL) -> Path:
    """Put WikiText-2's ``train.txt``, ``valid.txt`` and ``test.txt`` into ``root``.

    Files already there with the right digest are kept. Each file is downloaded to a
    temporary name, checked, then renamed into place, so an interrupted or corrupted
    download never leaves a file that looks complete.

    Args:
        root: the folder to fill (created if missing).
        base_url: where the three files are (any urllib URL: ``https://``, ``file://``).

    Returns:
        ``root``.

    Raises:
        ChecksumError: when a fetched file's sha256 differs from the published one.
        OSError: when a file cannot be fetched or written (``urllib.error.URLError`` is one).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, expected in WIKITEXT2_SHA256.items():
        dst = root / name
        if dst.is_file() and _sha256(dst.read_bytes()) == expected:
            continue
        url = base_url.rstrip("/") + "/" + name
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        got = _sha256(data)
        if got != expected:
            raise ChecksumError(
                f"{url}: sha256 {got} is not the published {expected}; the download is"
                f" corrupt or the file changed, so {dst} was not written"
            )
        tmp = root / f".{name}.tmp-{os.getpid()}"
        tmp.write_bytes(data)
        os.replace(tmp, dst)  # atomic: the file appears whole or not at all
    return root


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
