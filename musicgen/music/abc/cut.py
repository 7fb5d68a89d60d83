"""Cut ABC text: a tune's header and its first bars, as text (for character-level models)."""

from __future__ import annotations

from musicgen.music.abc.source import split_abc_tunes


def cut_abc_text(text: str, bars: int | None) -> str:
    """An ABC tune's header and, when ``bars`` is given, only its first bars (bar lines as
    written, each ``|`` counted, so ``||`` and ``|:`` count as one each too)."""
    tunes = split_abc_tunes(text)
    if not tunes:
        raise ValueError("no ABC tune in the prompt text")
    head, _, body = tunes[0].text.partition("\nK:")
    key_line, _, body = body.partition("\n")
    header = f"{head}\nK:{key_line}\n"
    if bars is None:
        return header + body
    return header + "|".join(body.split("|")[: bars + 1]) + "|"
