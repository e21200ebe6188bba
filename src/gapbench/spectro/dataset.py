"""A build's items as ``spectrogram-mcq`` samples, one condition at a time, and the task spec.

Each sample's input is a :class:`SpectroMessage` -- a :class:`~gapbench.core.media.ChatMessage`
(prompt text + images, what a VLM adapter sees) that also carries the option words, their IPA
segments and the audio path, which only the offline baselines read (the ASR baseline listens to
the audio; the blind baseline looks at the options only). Its ``repr`` names a digest of the
image bytes, so the sample's content hash changes when the pictures do.

Samples are built lazily (images are read when iterated), so a 4,068-item build is never held in
memory four times over.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import ChatMessage
from gapbench.core.sample import Sample
from gapbench.spectro.prompts import check_condition, render_prompt


@dataclass(frozen=True, repr=False)
class SpectroMessage(ChatMessage):
    """A ChatMessage plus what the offline baselines need (generic adapters ignore the extras)."""

    options: tuple[str, ...] = ()  # option words, in display order
    choices: tuple[str, ...] = ()  # the options as the prompt shows them (words, or IPA between slashes):
    # what option log-likelihood scoring (hf: scoring=loglik) appends to the prompt
    segments: tuple[tuple[str, ...], ...] = ()  # their IPA segments
    labels: str = "ABCD"
    audio: str | None = field(default=None, compare=False)  # path of the spoken clip
    image_digest: str = ""

    def __repr__(self) -> str:
        return (f"SpectroMessage(text={self.text!r}, system={self.system!r}, options={self.options!r}, "
                f"images={len(self.images)}:{self.image_digest})")


def _digest(images: Sequence[np.ndarray]) -> str:
    h = hashlib.blake2b(digest_size=8)
    for im in images:
        h.update(str(im.shape).encode())
        h.update(np.ascontiguousarray(im).tobytes())
    return h.hexdigest()


class SpectroSamples(Sequence[Sample]):
    """The samples of one condition of a build (lazy: images are read on access)."""

    def __init__(self, data: str | os.PathLike[str], condition: str, split: str | None = None, *,
                 blank: bool = False, prompt: str | None = None, limit: int | None = None,
                 rotation: int = 0, hints: bool = False) -> None:
        from gapbench.spectro.build import load_items

        self.root = Path(data)
        self.kind, self.image = check_condition(condition)
        self.condition = condition
        self.blank = blank
        self.prompt = prompt
        self.hints = hints
        self.rotation = int(rotation)  # circular evaluation: options shown rotated left by this many places
        self.items = load_items(self.root, split)[:limit]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Sample:  # type: ignore[override]
        from gapbench.spectro.render import read_png

        it = self.items[i]
        paths = ([it["waveform"]] if self.image == "spec-wave" else []) + [it["spectrogram"]]
        images = tuple(read_png(str(self.root / p)) for p in paths)
        if self.blank:  # the blank-image ablation: same size, no information
            images = tuple(np.zeros_like(im) for im in images)
        n = len(it["options"])
        order = [(j + self.rotation) % n for j in range(n)]
        words = [it["options"][j] for j in order]
        shown = words if self.kind == "graphemic" else [it["options_ipa"][j] for j in order]
        labels = "ABCDEFGH"[:n]
        segs_in = it.get("options_segments") or []
        segs = tuple(tuple(segs_in[j]) for j in order) if segs_in else ()
        msg = SpectroMessage(render_prompt(self.condition, shown, labels, self.prompt, self.hints,
                                           it.get("unit", "word")), images,
                             options=tuple(words), segments=segs, labels=labels,
                             choices=tuple(shown if self.kind == "graphemic" else (f"/{x}/" for x in shown)),
                             audio=str(self.root / it["audio"]), image_digest=_digest(images))
        answer = labels[order.index(labels.index(it["answer"]))]
        ref = {"answer": answer, "peds": [it["peds"][j] for j in order], "labels": labels}
        meta = {"condition": self.condition, "split": it["split"], "word": it["word"], "item": it["id"],
                "blank": self.blank, "rotation": self.rotation}
        suffix = ("/blank" if self.blank else "") + (f"/rot{self.rotation}" if self.rotation else "")
        return Sample(f"{it['id']}/{self.condition}{suffix}", msg, ref, meta)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]


def spectro_samples(data: str | None = None, condition: str = "graphemic-spec", split: str | None = None, *,
                    words: int = 60, seed: int = 0, design: str = "debiased", voice: str | None = None,
                    blank: bool = False, prompt: str | None = None, rotation: int = 0,
                    hints: bool = False) -> SpectroSamples:
    """The dataset target of the ``spectro`` task: a build dir, or a cached build of ``words`` words."""
    if data is None:
        from gapbench.spectro.build import BuildParams, cached_build

        extra = {"voice": voice} if voice else {}
        data = str(cached_build(BuildParams(words=words, seed=seed, design=design, **extra)))
    return SpectroSamples(data, condition, split, blank=blank, prompt=prompt, rotation=rotation, hints=hints)


def spectro_task(data: str | None = None, condition: str = "graphemic-spec", split: str | None = None,
                 **kwargs: Any) -> Any:
    """A :class:`~gapbench.core.task.TaskSpec` for one condition of a build (what ``spectro eval`` runs)."""
    from gapbench.core.task import Target, TaskSpec

    args = {"data": data, "condition": condition, "split": split, **kwargs}
    name = f"spectro-{condition}" + (f"-{split}" if split else "") + (f"-rot{kwargs['rotation']}"
                                                                      if kwargs.get("rotation") else "")
    return TaskSpec(
        name=name, type="spectrogram-mcq",
        dataset=Target("gapbench.spectro.dataset:spectro_samples", args),
        metrics=(Target("gapbench.metrics.mcq:ChoiceMetric"),),
        extract=Target("gapbench.spectro.extract:make_extractor"),
        description=f"Seeing isn't Hearing, condition {condition}",
    )
