"""``builtin:`` models: small real models that ship with gapbench and run offline.

``builtin:digits-logreg``: scikit-learn ``LogisticRegression`` trained at load time on the train
split of :func:`gapbench.data.embedded.sklearn_digits` (pixels scaled to [0, 1], lbfgs, one
BLAS thread, deterministic). It predicts class probabilities for the ``digits`` task. Its fingerprint hashes
the estimator's parameters, the scikit-learn version, the training data and the fitted weights.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gapbench.core.registry import Registry
from gapbench.core.sample import content_hash
from gapbench.models.base import ModelAdapter

# builtin name -> "module:attr" of a zero-argument factory returning a ModelAdapter
BUILTINS: Registry[Any] = Registry("builtin model")
BUILTINS.register("digits-logreg", "gapbench.models.builtin:DigitsLogReg")
BUILTINS.register("pocketsphinx", "gapbench.models.pocketsphinx_asr:pocketsphinx_lm")
BUILTINS.register("pocketsphinx-digits", "gapbench.models.pocketsphinx_asr:pocketsphinx_digits")
BUILTINS.register("pocketsphinx-words", "gapbench.models.pocketsphinx_asr:pocketsphinx_words")
BUILTINS.register("diarizer", "gapbench.models.diarizer:diarizer")
BUILTINS.register("rapidocr", "gapbench.models.rapidocr_model:shared")
BUILTINS.register("haar-frontalface", "gapbench.models.haar:HaarFrontalFace")

BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "digits-logreg": "scikit-learn LogisticRegression trained on the digits train split (offline)",
    "pocketsphinx": "CMU PocketSphinx 5, US-English full language model (ASR, offline)",
    "pocketsphinx-digits": "PocketSphinx with a JSGF loop over the TIDIGITS words (asr-digits)",
    "pocketsphinx-words": "PocketSphinx with a JSGF grammar of the asr-words vocabulary (one word)",
    "diarizer": "energy VAD + MFCC-statistics embeddings + agglomerative clustering (diarization)",
    "rapidocr": "RapidOCR PP-OCR text detection + recognition, ONNX files from the wheel (offline)",
    "haar-frontalface": "OpenCV 4.x Haar cascade face detector; face/non-face on crops (offline)",
}


class DigitsLogReg(ModelAdapter):
    """Logistic regression on flattened 8x8 digit images."""

    name = "builtin:digits-logreg"
    task_types = ("image-classification",)
    PARAMS: dict[str, Any] = {"C": 1.0, "max_iter": 1000, "solver": "lbfgs"}

    def __init__(self) -> None:
        import sklearn
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        from gapbench.data.embedded import sklearn_digits

        train = sklearn_digits("train")
        x = np.stack([self.preprocess(s.input) for s in train])
        y = np.array([s.reference for s in train])
        self.clf = LogisticRegression(**self.PARAMS)
        # one BLAS thread: deterministic, and on a busy machine oversubscribed BLAS threads made
        # this 64-feature fit ~100x slower (16 s instead of 0.15 s)
        with threadpool_limits(limits=1):
            self.clf.fit(x, y)
        self._fingerprint = content_hash({
            "adapter": self.name,
            "params": {k: str(v) for k, v in sorted(self.clf.get_params().items())},
            "sklearn": sklearn.__version__,
            "train": content_hash([s.key for s in train]),
            "coef": np.asarray(self.clf.coef_, dtype=np.float64),
            "intercept": np.asarray(self.clf.intercept_, dtype=np.float64),
        })

    def fingerprint(self) -> str:
        return self._fingerprint

    def preprocess(self, input: Any) -> np.ndarray:  # noqa: A002
        return np.asarray(input, dtype=np.float64).reshape(-1) / 16.0

    def predict(self, batch: list[Any]) -> np.ndarray:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            proba = self.clf.predict_proba(np.stack(batch))
        # columns follow clf.classes_; scatter into class-index order 0..9
        out = np.zeros((len(batch), int(self.clf.classes_.max()) + 1))
        out[:, self.clf.classes_] = proba
        return out


def load_builtin(name: str) -> ModelAdapter:
    """Registry factory for the ``builtin:`` scheme."""
    return BUILTINS.get(name)()
