"""Raw Standard MIDI File bytes, written by hand for the awkward-file tests.

mido (and our writer) only produce well-formed files; real files in the wild use running
status, several key signatures, lyrics in legacy encodings, data bytes above 127, headers
that promise more tracks than they hold. These helpers write such bytes directly.
"""

from __future__ import annotations


def varlen(n: int) -> bytes:
    """A variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + varlen(len(data)) + data


def tempo(us_per_quarter: int) -> bytes:
    return meta(0x51, us_per_quarter.to_bytes(3, "big"))


def time_signature(num: int, den_power: int) -> bytes:
    return meta(0x58, bytes([num, den_power, 24, 8]))


def key_signature(sharps: int, minor: int = 0) -> bytes:
    return meta(0x59, bytes([sharps & 0xFF, minor]))


def track(*events: tuple[int, bytes], end: bool = True) -> bytes:
    """An MTrk chunk from (delta ticks, event bytes) pairs, closed by End of Track."""
    body = b"".join(varlen(delta) + data for delta, data in events)
    if end:
        body += varlen(0) + meta(0x2F, b"")
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def smf(fmt: int, *tracks: bytes, division: int = 480, declared: int | None = None) -> bytes:
    """A whole file: the MThd header (``declared`` tracks, default the real count) + tracks."""
    count = len(tracks) if declared is None else declared
    header = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big")
    header += count.to_bytes(2, "big") + division.to_bytes(2, "big")
    return header + b"".join(tracks)
