"""Prompt templates per condition (the paper's prompts are unpublished; these are the defaults).

A condition is ``<options>-<image>``: options ``graphemic`` (written words) or ``phonemic`` (IPA
between slashes); image ``spec`` (one spectrogram) or ``spec-wave`` (a waveform, then the
spectrogram of the same clip). Override a template with ``prompt=`` (a ``str.format`` string with
``{options}``, ``{labels}`` and, for ``spec-wave``, the same fields) anywhere a condition is taken.
"""
from __future__ import annotations

from collections.abc import Sequence

CONDITIONS: tuple[str, ...] = ("graphemic-spec", "graphemic-spec-wave", "phonemic-spec", "phonemic-spec-wave")

_IMAGE = {
    "spec": "The image is a spectrogram of one English word spoken in isolation "
            "(time runs left to right, frequency bottom to top, brighter is louder).",
    "spec-wave": "The first image is the waveform and the second image the spectrogram of one English word "
                 "spoken in isolation (time runs left to right; in the spectrogram frequency runs bottom to "
                 "top, brighter is louder).",
}
_QUESTION = {
    "graphemic": "Which word was spoken?",
    "phonemic": "Which phonemic (IPA) transcription matches the spoken word?",
}
TEMPLATE = "{image}\n{question}\n{options}\nAnswer with the letter ({labels}) of the correct option only."
# the paper's open question "would phonetic hints help?": a short reading guide put before the question
HINTS = ("Reading guide: vowels show as horizontal dark-to-bright bands (formants; /i/ has a low first and "
         "high second formant, /ɑ/ the two close together); fricatives (s, ʃ, f, θ) as high-frequency noise, "
         "/s/ and /ʃ/ strongest; stops (p, t, k, b, d, ɡ) as a silent gap and a short vertical burst; nasals "
         "(m, n, ŋ) as weak low bands.")


def check_condition(condition: str) -> tuple[str, str]:
    """``(options kind, image kind)`` of a condition name (ValueError naming the valid ones)."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}: expected one of {', '.join(CONDITIONS)}")
    kind, _, image = condition.partition("-")
    return kind, image


def option_lines(options: Sequence[str], labels: str, kind: str) -> str:
    """``A. word`` lines (IPA options between slashes)."""
    fmt = "{}. /{}/" if kind == "phonemic" else "{}. {}"
    return "\n".join(fmt.format(lab, opt) for lab, opt in zip(labels, options))


# phoneme-level items (``--unit phone|diphone``): the same prompts about a sound instead of a word
_UNIT_NOUN = {"phone": "one English speech sound (a single phone)",
              "diphone": "one English two-sound sequence (a diphone)"}
_UNIT_QUESTION = {"graphemic": "Which sound (ARPAbet phone names) was spoken?",
                  "phonemic": "Which phonemic (IPA) transcription matches the spoken sound?"}


def render_prompt(condition: str, options: Sequence[str], labels: str = "ABCD", template: str | None = None,
                  hints: bool = False, unit: str = "word") -> str:
    """The user prompt for one item under ``condition`` (options already in display form);
    ``hints`` puts :data:`HINTS` before the question; ``unit`` (word, phone, diphone) names what was spoken."""
    kind, image = check_condition(condition)
    labels = labels[: len(options)]
    question = (HINTS + "\n" if hints else "") + (_QUESTION if unit == "word" else _UNIT_QUESTION)[kind]
    scene = _IMAGE[image] if unit == "word" else _IMAGE[image].replace("one English word", _UNIT_NOUN[unit])
    fields = {"image": scene, "question": question, "options": option_lines(options, labels, kind),
              "labels": ", ".join(labels)}
    return (template or TEMPLATE).format(**fields)
