"""The studio's Gradio page: the fields of a request, a Generate button, one slot per sample.

Only ``musicgen-studio`` imports this module, so nothing else pays Gradio's import cost
(~2 s). All the work is :class:`~musicgen.generation.studio_session.StudioSession`'s; this
module lays out the page and turns a session's result (or its error) into what is shown.
"""

from __future__ import annotations

import gradio as gr

from musicgen.generation.studio_session import (
    MAX_SAMPLES,
    StudioError,
    StudioRequest,
    StudioSession,
)

# System fonts: the default theme would fetch Google's, and the page talks to nobody but
# the studio's own server.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])
# per sample slot: its group (shown or hidden), audio, piano roll, attention, files/text
SLOT_FIELDS = 5
# The gallery's cells are square by default: an attention picture (a wide row of heads)
# would sit in a mostly empty box; each is shown at its own proportions instead.
CSS = """.attention .thumbnail-item { aspect-ratio: auto !important; }
.attention .grid-wrap { height: auto !important; max-height: none !important; }"""


def build_page(session: StudioSession, defaults: dict, title: str, concurrency: int) -> gr.Blocks:
    """The page for ``session``'s kind of model.

    Args:
        session: serves each press of Generate.
        defaults: starting values: ``prompt_bars``, ``n_samples``, ``seed``, ``max_bars``,
            ``temperature``, ``top_k``, ``top_p``, ``repetition_penalty``.
        title: a line naming the checkpoint.
        concurrency: requests that may generate at once (each in a worker thread).
    """
    with gr.Blocks(title="musicgen studio", analytics_enabled=False) as page:
        gr.Markdown(f"# musicgen studio\n{title}")
        inputs = _request_fields(session, defaults)
        button = gr.Button("Generate", variant="primary", elem_id="generate")
        status = gr.Markdown(
            "Choose a prompt (or none) and press Generate.", elem_id="studio-status"
        )
        slots = [_sample_slot(i, session.kind) for i in range(MAX_SAMPLES)]
        button.click(
            lambda *values, progress=gr.Progress(): _serve(session, values, progress),  # noqa: B008
            inputs=inputs, outputs=[status, *[c for slot in slots for c in slot]],
            concurrency_limit=concurrency, show_progress_on=status, api_name="generate",
        )  # fmt: skip
    return page


def _request_fields(session: StudioSession, d: dict) -> list:
    """The request's input components, in :data:`FIELDS` order. A harmoniser takes a
    melody, a number of samples, a temperature (for all but the first, greedy) and a seed."""
    text, upload, heldout, bars = gr.State(""), gr.State(None), gr.State(None), gr.State(None)
    continues = session.kind != "harmony"  # a prompt to continue, not a melody to harmonise
    with gr.Row():
        with gr.Column():
            if session.kind == "text":
                text = gr.Textbox(label="text to continue", lines=3, elem_id="prompt-text")
            else:
                kinds = [".abc"] if session.kind == "abc" else [".mid", ".midi", ".abc"]
                what = "prompt" if continues else "melody to harmonise"
                upload = gr.File(label=f"{what}: upload a file ({', '.join(kinds)})",
                                 file_types=kinds, elem_id="prompt-file")  # fmt: skip
                heldout = gr.Dropdown(
                    sorted(session.heldout), value=None, label="or a held-out tune of the corpus",
                    visible=bool(session.heldout), elem_id="heldout",
                )  # fmt: skip
                bars = gr.Number(d["prompt_bars"], precision=0, minimum=0, visible=continues,
                                 label="prompt bars (0: the whole file)")  # fmt: skip
            n = gr.Slider(1, MAX_SAMPLES, d["n_samples"], step=1, label="number of samples")
            length = gr.Slider(1, 64, d["max_bars"], step=1, label="length in new bars",
                               visible=session.kind in ("notes", "abc"))  # fmt: skip
        with gr.Column():
            label = "temperature" if continues else "temperature (samples after the first, greedy)"
            temperature = gr.Slider(0.0, 2.0, d["temperature"], step=0.05, label=label)
            top_k = gr.Number(d["top_k"] or 0, precision=0, minimum=0, label="top-k (0: all)",
                              visible=continues)  # fmt: skip
            top_p = gr.Slider(0.05, 1.0, d["top_p"] or 1.0, step=0.01, label="top-p",
                              visible=continues)  # fmt: skip
            penalty = gr.Slider(1.0, 2.0, d["repetition_penalty"], step=0.05,
                                label="repetition penalty", visible=continues)  # fmt: skip
            seed = gr.Number(d["seed"], precision=0, label="seed", elem_id="seed")
            attention = gr.Checkbox(False, label="draw the self-attention (a picture per layer)",
                                    visible=session.has_attention, elem_id="attention")  # fmt: skip
    return [upload, heldout, bars, text, length, n, temperature, top_k, top_p, penalty, seed,
            attention]  # fmt: skip


FIELDS = ("prompt_file", "heldout", "prompt_bars", "text", "max_bars", "n_samples",
          "temperature", "top_k", "top_p", "repetition_penalty", "seed", "attention")  # fmt: skip


def _sample_slot(i: int, kind: str) -> tuple:
    """One sample's group: audio, piano roll and downloads (or the text, for text models)."""
    harmony = kind == "harmony"
    with gr.Group(visible=False, elem_id=f"sample-{i + 1}") as group:
        gr.Markdown(f"### sample {i + 1}")
        # the browser's own <audio> player: no waveform to decode before it can play
        audio = gr.Audio(type="filepath", interactive=False, label="listen",
                         waveform_options=gr.WaveformOptions(show_recording_waveform=False),
                         buttons=["download"], visible=kind != "text",
                         elem_id=f"audio-{i + 1}")  # fmt: skip
        shaded = "melody and chords" if harmony else "prompt shaded"
        roll = gr.Image(type="filepath", interactive=False, label=f"piano roll ({shaded})",
                        buttons=["download", "fullscreen"], visible=kind != "text",
                        elem_id=f"roll-{i + 1}")  # fmt: skip
        # one wide picture per layer (a panel per head), each shown whole, one under another;
        # a harmoniser's one picture is its cross-attention, the melody-chord alignment
        drawn = "alignment: chord steps down, melody notes across" if harmony else (
            "self-attention: queries down, keys across")  # fmt: skip
        attention = gr.Gallery(label=drawn, columns=1, height="auto", object_fit="contain",
                               interactive=False, visible=False, elem_id=f"attention-{i + 1}",
                               elem_classes=["attention"])  # fmt: skip
        if kind == "text":
            out = gr.Textbox(label="continuation", lines=4, elem_id=f"text-{i + 1}")
        else:
            out = gr.File(file_count="multiple", interactive=False, label="download",
                          elem_id=f"files-{i + 1}")  # fmt: skip
    return group, audio, roll, attention, out


def _serve(session: StudioSession, values: tuple, progress) -> list:
    """Run one request and return the status line and every slot's contents."""
    request = StudioRequest(**_cleaned(dict(zip(FIELDS, values, strict=True))))
    try:
        result = session.run(request, progress=lambda f, desc: progress(f, desc=desc))
    except StudioError as err:  # shown on the page; the server goes on serving
        return [f"**Could not generate:** {err}", *_hidden_slots()]
    shown = []
    for sample in result.samples:
        last = sample.text if session.kind == "text" else [str(p) for p in sample.downloads]
        png = str(sample.png) if sample.png else None
        wav = str(sample.wav) if sample.wav else None
        pictures = [str(p) for p in sample.attention]
        drawn = gr.update(value=pictures or None, visible=bool(pictures))
        shown += [gr.update(visible=True), wav, png, drawn, last]
    shown += _hidden_slots()[len(shown) :]
    return ["\n".join(f"- {line}" for line in result.messages), *shown]


def _cleaned(fields: dict) -> dict:
    """Page values as the request wants them: whole numbers as ints, an empty top-k as None."""
    for name in ("prompt_bars", "max_bars", "n_samples", "top_k", "seed"):
        if fields[name] is not None:
            fields[name] = int(fields[name])
    return fields


def _hidden_slots() -> list:
    return [gr.update(visible=False), None, None, gr.update(value=None, visible=False), None] * (
        MAX_SAMPLES
    )
