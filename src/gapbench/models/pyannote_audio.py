"""``pyannote:PATH``: a pyannote.audio speaker-diarization pipeline the user already has on disk.

``PATH`` is a pipeline directory (with its ``config.yaml``) or the ``config.yaml`` itself, loaded
with ``pyannote.audio.Pipeline.from_pretrained(PATH)`` while ``HF_HUB_OFFLINE=1`` is set: gapbench
never downloads, so a config that names Hub models must find them in the local Hugging Face cache
(or name local checkpoint files). Needs the optional ``[pyannote]`` extra (outside ``[all]``:
pyannote.audio 4 pulls torchaudio and torchcodec, which must match the installed torch build).

Options (``--model-option KEY=VALUE``): ``device`` (``cpu``, ``cuda``, ``cuda:1``; default cpu),
``num_speakers`` / ``min_speakers`` / ``max_speakers`` (passed to the pipeline call), and
``exclusive=true`` to score pyannote.audio 4's ``exclusive_speaker_diarization`` (no overlapping
turns) instead of ``speaker_diarization``.

Input: each clip is down-mixed and resampled to 16 kHz (the rate pyannote's models are trained at)
and handed over in memory as ``{"waveform": (1, n) float32 tensor, "sample_rate": 16000}``.
Output: the pipeline's ``pyannote.core.Annotation`` (3.x returns it, 4.x wraps it in
``DiarizeOutput``) becomes :class:`~gapbench.core.predictions.SpeakerTurns` with
:func:`annotation_to_turns`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.core.sample import content_hash
from gapbench.errors import InputError, ModelError
from gapbench.models.base import ModelAdapter

SAMPLE_RATE = 16000
CALL_OPTIONS = ("num_speakers", "min_speakers", "max_speakers")


def annotation_to_turns(annotation: Any) -> SpeakerTurns:
    """``(start, end, label)`` of every track of a pyannote ``Annotation``, in time order.

    Each track stays a turn (two overlapping tracks of one label stay two turns), so scoring the
    turns with pyannote.metrics gives the same DER as scoring the Annotation itself.
    """
    turns = [(float(seg.start), float(seg.end), str(label))
             for seg, _track, label in annotation.itertracks(yield_label=True)]
    return SpeakerTurns(tuple(sorted(turns)))


def _int_option(name: str, value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1:
        raise InputError(None, f"model option {name}", "a whole number >= 1", value)
    return n


class PyannoteDiarization(ModelAdapter):
    """A local pyannote.audio pipeline as a ``diarization`` adapter (see the module docstring)."""

    task_types = ("diarization",)

    def __init__(self, path: str, device: str = "cpu", exclusive: bool | str = False, **call: Any) -> None:
        unknown = sorted(set(call) - set(CALL_OPTIONS))
        if unknown:
            raise InputError(None, f"model pyannote:{path}", f"options among device, exclusive, "
                             f"{', '.join(CALL_OPTIONS)}", unknown[0])
        p = Path(path).expanduser()
        if not p.exists():
            raise InputError(p, None, "a local pyannote pipeline directory or its config.yaml "
                             "(gapbench does not download models)", "no such path")
        config = p / "config.yaml" if p.is_dir() else p
        if not config.is_file():
            raise InputError(p, None, "a pipeline directory with a config.yaml")
        self.name = f"pyannote:{path}"
        self.path = p
        self.device = str(device)
        self.exclusive = str(exclusive).lower() in ("1", "true", "yes")
        self.call = {k: _int_option(k, v) for k, v in call.items()}
        try:
            from importlib.metadata import version

            pa_version = version("pyannote.audio")
        except Exception:  # noqa: BLE001 - PackageNotFoundError: said clearly on load below
            pa_version = None
        if pa_version is None:
            raise ModelError(f"{self.name}: pyannote.audio is not installed (pip install 'gapbench[pyannote]'; "
                             "it needs torchaudio and torchcodec built for your torch)")
        self._fingerprint = content_hash({"adapter": "pyannote", "config": config.read_bytes().hex(),
                                          "pyannote.audio": pa_version, **self.settings()})
        self.pipeline = self._load()

    def _load(self) -> Any:
        import torch
        from pyannote.audio import Pipeline

        before = os.environ.get("HF_HUB_OFFLINE")
        os.environ["HF_HUB_OFFLINE"] = "1"  # never download, whatever the config names
        try:
            pipeline = Pipeline.from_pretrained(str(self.path))
        except Exception as exc:  # noqa: BLE001 - pyannote raises many kinds; one line for the user
            raise ModelError(f"{self.name}: could not load the pipeline offline: {exc}".splitlines()[0]) from None
        finally:
            if before is None:
                os.environ.pop("HF_HUB_OFFLINE", None)
            else:
                os.environ["HF_HUB_OFFLINE"] = before
        if pipeline is None:
            raise ModelError(f"{self.name}: Pipeline.from_pretrained returned nothing (is config.yaml a pipeline?)")
        return pipeline.to(torch.device(self.device))

    def settings(self) -> dict[str, Any]:
        return {"exclusive": self.exclusive, **self.call}

    def fingerprint(self) -> str:
        return self._fingerprint

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        if not isinstance(input, Audio):
            raise InputError(None, f"{self.name} input", "gapbench Audio", type(input).__name__)
        return input.mono(SAMPLE_RATE).astype("float32")

    def predict(self, batch: list[Any]) -> list[SpeakerTurns]:
        import torch

        out = []
        for x in batch:
            result = self.pipeline({"waveform": torch.from_numpy(x)[None, :], "sample_rate": SAMPLE_RATE},
                                   **self.call)
            if hasattr(result, "speaker_diarization"):  # pyannote.audio 4: DiarizeOutput
                result = result.exclusive_speaker_diarization if self.exclusive else result.speaker_diarization
            elif self.exclusive:
                raise ModelError(f"{self.name}: exclusive=true needs pyannote.audio 4 (DiarizeOutput)")
            out.append(annotation_to_turns(result))
        return out


def load_pyannote_model(rest: str, **options: Any) -> PyannoteDiarization:
    """The ``pyannote:`` scheme factory: ``rest`` is the local pipeline directory or config.yaml."""
    if not rest:
        raise InputError(None, "model 'pyannote:'", "'pyannote:path/to/pipeline' (a local directory)")
    return PyannoteDiarization(rest, **options)
