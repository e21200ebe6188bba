"""``hf:`` models: one adapter for Hugging Face ``transformers`` models, dispatching on the task type.

``hf:PATH_OR_ID`` loads from a local directory, or a hub id already in the local Hugging Face cache;
it never downloads (``HF_HUB_OFFLINE=1`` and ``local_files_only=True``): a hub id without a local
copy is one line saying how to fetch it. ``for_task(task_type)`` returns a bound view that loads
the right head for the task (the adapter itself is never changed):

* ``asr``: the ``automatic-speech-recognition`` pipeline (CTC such as wav2vec2, or seq2seq such as
  Whisper). Input ``Audio`` is down-mixed to mono and resampled to the feature extractor's
  ``sampling_rate`` in ``preprocess``; long audio is chunked by the pipeline (``chunk_length_s``;
  default: the window of Whisper-style feature extractors, 30 s for Whisper, so a long clip is
  never cut at the window; CTC models see the whole clip unless it is set).
* ``image-classification``: ``AutoModelForImageClassification``; one score per class (logits) in
  the model's ``id2label`` order, so task class ``i`` is model output ``i``. When the task's classes
  are ordered differently, or are a subset, pass ``labels=name0,name1,...``: the model's label
  names in the task's class order; the adapter keeps those logit columns in that order.
* ``object-detection``: ``AutoModelForObjectDetection`` + the processor's
  ``post_process_object_detection`` (score ``threshold``, default 0.5) -> ``Detections`` in COCO
  ``[x, y, w, h]`` pixels of the input image; labels are the model's class ids (COCO-trained DETR /
  YOLOS ids are COCO category ids), or positions in ``labels=`` when given (other classes dropped),
  or the ids it states: ``labels=person=1,car=3`` or ``labels=@instances_val2017.json`` (the
  annotations' category ids by name, :mod:`gapbench.models.label_ids`; Mask2Former's COCO classes are 0..79).
  An instance segmentation model (``model_type`` ``mask2former`` or ``maskformer``, loaded with
  ``AutoModelForUniversalSegmentation``) serves this task type only, with a mask per detection:
  the processor's ``post_process_instance_segmentation`` (``threshold``, default 0.5) -> binary
  masks at the image size, boxes the tight boxes of the masks, empty masks dropped (see
  :mod:`gapbench.models.hf_instances`); the ``coco`` task then scores ``segm_*`` too.
* ``semantic-segmentation``: ``AutoModelForSemanticSegmentation``; logits upsampled bilinearly to
  the input size (what SegFormer's ``post_process_semantic_segmentation`` does), arg-max ->
  ``SegMask`` (``labels=`` selects and orders classes as above).
* ``spectrogram-mcq``: a vision-language model (``AutoModelForImageTextToText``): the
  ``ChatMessage`` (system text, images, then text formatted by ``prompt_template``, default
  ``{text}``) goes through the processor's chat template, ``generate`` (greedy unless
  ``temperature`` > 0, ``max_new_tokens`` default 32) returns the new text; the task's ``extract``
  step turns it into the answer. With ``scoring=loglik`` (local models only) nothing is generated:
  each option's text (the message's ``choices``: the option as the prompt shows it, e.g. ``water``
  or ``/wɔtɚ/``; a spectro item carries them) is appended to the same prompt (chat template +
  generation prompt, tokenised on its own without special tokens and concatenated, so the prompt's
  tokens are identical for every option) and scored by one forward pass:
  ``log P(option tokens | prompt, images)`` = the sum of each option token's log-softmax
  probability. The answer is the label of the best option by ``loglik_norm``: ``mean`` (default:
  the sum divided by the option's token count, so options that take more tokens are not penalised
  for their length; lm-evaluation-harness's ``acc_norm`` normalises by bytes instead) or ``sum``
  (the plain joint log-probability, ``acc`` there). The scores are kept on the adapter's
  ``last_logliks`` (per item: ``[(sum, n_tokens), ...]``) for inspection.

Options (``load_model("hf:path", threshold=0.3)``, strings accepted): ``device`` (default cpu),
``dtype`` (float32 | float16 | bfloat16), ``batch_size`` (ASR pipeline; default 1, as padding
changes the output of models without an attention mask), ``chunk_length_s``,
``labels``, ``threshold`` (detection score, instance masks too), ``max_new_tokens`` (VLM 32;
ASR: the model's generation config),
``num_beams`` (seq2seq ASR, default 1 = greedy; the transformers pipeline's own Whisper default is
5 beams), ``temperature``, ``prompt_template``, ``system``, ``scoring`` (generate | loglik) and
``loglik_norm`` (mean | sum).
``fingerprint()`` hashes every model file (config, weights, processor and tokenizer files) and the
transformers version; ``settings()`` carries the generation settings, prompt template, label
mapping and dtype, so the response cache never reuses an answer made differently.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.media import ChatMessage
from gapbench.errors import InputError, ModelError
from gapbench.models._common import (
    audio_mono,
    check_options,
    hash_files,
    model_files,
    opt_float,
    opt_int,
    opt_list,
    to_rgb_uint8,
)
from gapbench.models.base import ModelAdapter
from gapbench.models.hf_instances import INSTANCE_MODEL_TYPES, decode_instances
from gapbench.models.label_ids import label_map_by_name, parse_labels

TASKS = ("asr", "image-classification", "object-detection", "semantic-segmentation", "spectrogram-mcq")
OPTIONS = ("device", "dtype", "batch_size", "chunk_length_s", "labels", "threshold", "max_new_tokens", "num_beams",
           "temperature", "prompt_template", "system", "scoring", "loglik_norm")
SCORINGS = ("generate", "loglik")
LOGLIK_NORMS = ("mean", "sum")


def _require() -> tuple[Any, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"  # gapbench never downloads weights at run time
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ModelError(f"hf: models need torch and transformers (pip install 'gapbench[hf]'): {exc}") from None
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    return torch, transformers


def resolve_local(path_or_id: str) -> Path:
    """A local model directory: the path itself, or the hub id's snapshot in the local cache."""
    p = Path(path_or_id).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise InputError(str(p), None, "a transformers model directory (with config.json)")
        return p.resolve()
    if p.exists() or path_or_id.startswith((".", "/", "~")) or path_or_id.count("/") != 1:
        raise InputError(path_or_id, None, "a local transformers model directory")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path_or_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - any miss is the same answer: no local copy
        raise ModelError(f"hf:{path_or_id}: no local copy (not a directory, not in the Hugging Face cache) and "
                         f"gapbench never downloads; fetch it first (hf download {path_or_id}) or pass a "
                         "local directory") from None


def _model_type(path: Path) -> str | None:
    """``model_type`` from ``config.json`` (None when unreadable: loading then says what is wrong)."""
    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(cfg.get("model_type")) if isinstance(cfg, dict) and cfg.get("model_type") else None


def _universal_only() -> set[str]:
    """Model types with a universal/instance segmentation head but no box-detection head."""
    from transformers.models.auto import modeling_auto as auto

    seg = set(getattr(auto, "MODEL_FOR_UNIVERSAL_SEGMENTATION_MAPPING_NAMES", {}))
    seg |= set(getattr(auto, "MODEL_FOR_INSTANCE_SEGMENTATION_MAPPING_NAMES", {}))
    return seg - set(getattr(auto, "MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES", {}))


class HFModel(ModelAdapter):
    """A transformers model directory; ``for_task`` gives the view that serves one task type."""

    task_types = TASKS

    def __init__(self, path_or_id: str, **options: Any) -> None:
        check_options(options, OPTIONS, f"hf:{path_or_id}")
        _require()  # a missing torch/transformers is said first, not mistaken for a missing model
        self.name = f"hf:{path_or_id}"
        self.path = resolve_local(path_or_id)
        self.options = dict(options)
        self.label_spec = parse_labels(opt_list(options, "labels"), self.name)
        self.model_type = _model_type(self.path)
        if self.model_type in INSTANCE_MODEL_TYPES:  # instance masks: detections only
            self.task_types = ("object-detection",)
        self.temperature = opt_float(options, "temperature", 0.0) or 0.0
        self.deterministic = self.temperature == 0.0
        self._fingerprint: str | None = None
        self._views: dict[str, _TaskView] = {}
        self._lock = threading.Lock()

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            torch, transformers = _require()
            self._fingerprint = hash_files(model_files(self.path), ("transformers", transformers.__version__))
        return self._fingerprint

    def settings(self) -> dict[str, Any]:
        """Options that change answers (generation, prompt, labels, dtype); not the device."""
        out = {k: str(v) for k, v in sorted(self.options.items()) if k not in ("device", "batch_size")}
        if self.label_spec is not None:  # a labels file's content, not its path
            out["labels"] = self.label_spec.canonical()
        return out

    def for_task(self, task_type: str) -> ModelAdapter:
        if self.model_type in INSTANCE_MODEL_TYPES and task_type != "object-detection":
            raise InputError(self.name, f"a {self.model_type} (instance segmentation) model",
                             "a task of type object-detection (detections with masks)", task_type)
        super().for_task(task_type)
        with self._lock:  # one loaded model per task type, shared by every cell and thread
            if task_type not in self._views:
                self._views[task_type] = _TaskView(self, task_type)
            return self._views[task_type]

    def predict(self, batch: list[Any]) -> list[Any]:
        raise ModelError(f"{self.name}: call for_task(task_type) first (one of {', '.join(TASKS)})")


class _TaskView(ModelAdapter):
    """``HFModel`` bound to one task type: its model head, processor and pre/post-processing."""

    def __init__(self, parent: HFModel, task_type: str) -> None:
        self.parent = parent
        self.name = parent.name
        self.task_type = task_type
        self.instances = task_type == "object-detection" and parent.model_type in INSTANCE_MODEL_TYPES
        self.task_types = (task_type,)
        self.deterministic = parent.deterministic
        self.torch, tf = _require()
        o = parent.options
        self.device = str(o.get("device", "cpu"))
        dtype = o.get("dtype")
        if dtype and str(dtype) not in ("float32", "float16", "bfloat16"):
            raise InputError(self.name, "option 'dtype'", "float32, float16 or bfloat16", dtype)
        self.dtype = getattr(self.torch, str(dtype)) if dtype else None
        self.label_spec = parent.label_spec
        if self.label_spec is not None and self.label_spec.ids is not None and task_type != "object-detection":
            raise InputError(self.name, "option 'labels'", "class names in the task's order (NAME=ID and @FILE map "
                             "detector classes to category ids)", self.label_spec.canonical()[:80])
        self.label_of: dict[int, int] | None = None  # detection: model class id -> output label
        self.threshold = opt_float(o, "threshold", 0.5)
        self.max_new_tokens = opt_int(o, "max_new_tokens", None if task_type == "asr" else 32)
        self.num_beams = opt_int(o, "num_beams", 1)
        self.prompt_template = str(o.get("prompt_template", "{text}"))
        self.system = o.get("system")
        self.scoring = str(o.get("scoring", "generate"))
        self.loglik_norm = str(o.get("loglik_norm", "mean"))
        if self.scoring not in SCORINGS:
            raise InputError(self.name, "option 'scoring'", " or ".join(SCORINGS), self.scoring)
        if self.loglik_norm not in LOGLIK_NORMS:
            raise InputError(self.name, "option 'loglik_norm'", " or ".join(LOGLIK_NORMS), self.loglik_norm)
        if self.scoring == "loglik" and task_type != "spectrogram-mcq":
            raise InputError(self.name, "option 'scoring'", "generate (loglik scores spectrogram-mcq options)",
                             self.scoring)
        self.last_logliks: list[list[tuple[float, int]]] = []
        kw: dict[str, Any] = {"local_files_only": True}
        if self.dtype is not None:
            kw["dtype"] = self.dtype
        path = str(parent.path)
        try:
            if task_type == "asr":
                self.pipe = tf.pipeline("automatic-speech-recognition", model=path, device=self.device,
                                        model_kwargs={k: v for k, v in kw.items() if k != "local_files_only"})
                fe = self.pipe.feature_extractor
                self.rate = int(getattr(fe, "sampling_rate", 16000))
                # Whisper-style feature extractors cut at their window (chunk_length s): chunk by default
                window = getattr(fe, "chunk_length", None) if hasattr(fe, "n_samples") else None
                self.chunk_length_s = opt_float(o, "chunk_length_s", float(window) if window else None)
                return
            unsupported = task_type == "object-detection" and parent.model_type in _universal_only()
            if unsupported and not self.instances:
                raise ModelError(f"{self.name}: {parent.model_type} instance segmentation is not supported "
                                 f"(supported: {', '.join(INSTANCE_MODEL_TYPES)}, and box detectors)")
            auto = {"image-classification": tf.AutoModelForImageClassification,
                    "object-detection": tf.AutoModelForObjectDetection,
                    "semantic-segmentation": tf.AutoModelForSemanticSegmentation,
                    "spectrogram-mcq": tf.AutoModelForImageTextToText}[task_type]
            if self.instances:
                auto = tf.AutoModelForUniversalSegmentation
            self.model = auto.from_pretrained(path, **kw).to(self.device).eval()
            if task_type == "spectrogram-mcq":
                self.processor = tf.AutoProcessor.from_pretrained(path, local_files_only=True)
            else:
                self.processor = tf.AutoImageProcessor.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"{self.name}: cannot load a {task_type} model from {path}: {first}") from None
        self.columns = self._columns()

    def _columns(self) -> list[int] | None:
        """Model output columns in the task's class order (``labels=``), or None for id2label order;
        for detection also :attr:`label_of` (a kept class's output label: its id or its position)."""
        spec = self.label_spec
        if spec is None or self.task_type == "spectrogram-mcq":
            return None
        id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        names = [id2label.get(i, "") for i in range(max(id2label, default=-1) + 1)]  # DETR's ids have gaps
        mapped = label_map_by_name(spec, names, self.name)
        self.label_of = {i: out for i, out in enumerate(mapped) if out is not None}
        by_name = {v: k for k, v in id2label.items()}
        return [by_name[n] for n in spec.names if n in by_name]

    def fingerprint(self) -> str:
        return self.parent.fingerprint()

    def settings(self) -> dict[str, Any]:
        return {"task": self.task_type, **self.parent.settings()}

    # ---- per sample (prefetch threads) ------------------------------------------------------

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        if self.task_type == "asr":
            return audio_mono(input, self.rate, self.name)
        if self.task_type == "spectrogram-mcq":
            if not isinstance(input, ChatMessage):
                raise InputError(self.name, None, "a ChatMessage (text and images)", type(input).__name__)
            return input
        img = to_rgb_uint8(input, self.name)
        feats = self.processor(images=img, return_tensors="pt")
        return dict(feats), img.shape[:2]

    # ---- per batch ---------------------------------------------------------------------------

    def predict(self, batch: list[Any]) -> list[Any]:
        if self.task_type == "asr":
            inputs = [{"raw": x, "sampling_rate": self.rate} for x in batch]
            # default 1: padding a batch changes the output of models without an attention mask
            # (wav2vec2-base's group norm sees the padding); batch_size=N trades that for speed
            bs = opt_int(self.parent.options, "batch_size", 1) or 1
            kw: dict[str, Any] = {"chunk_length_s": self.chunk_length_s} if self.chunk_length_s else {}
            if self.pipe.model.can_generate():  # seq2seq: the pipeline's own default is 5 beams; say it
                gen = {"num_beams": self.num_beams}
                if self.max_new_tokens is not None:  # else the model's generation_config.json (fingerprinted)
                    gen["max_new_tokens"] = self.max_new_tokens
                kw["generate_kwargs"] = gen
            return [r["text"] for r in self.pipe(inputs, batch_size=bs, **kw)]
        if self.task_type == "spectrogram-mcq":
            if self.scoring == "loglik":
                return [self._best_option(m) for m in batch]
            return [self._generate(m) for m in batch]
        with self.torch.inference_mode():
            return [self._head(feats, size) for feats, size in batch]

    def _head(self, feats: dict[str, Any], size: tuple[int, int]) -> Any:
        """One image's forward pass and the task's post-processing (one image at a time: processors
        may give each image its own size, and padding would change what the model sees)."""
        torch = self.torch
        out = self.model(**{k: v.to(self.device, dtype=self.dtype) if self.dtype is not None and v.is_floating_point()
                            else v.to(self.device) for k, v in feats.items()})
        if self.task_type == "image-classification":
            logits = out.logits[0].float()  # scores leave in float32 whatever the compute dtype
            return (logits if self.columns is None else logits[self.columns]).cpu().numpy()
        if self.task_type == "semantic-segmentation":
            logits = out.logits.float()
            if self.columns is not None:
                logits = logits[:, self.columns]
            up = torch.nn.functional.interpolate(logits, size=size, mode="bilinear", align_corners=False)
            return up[0].argmax(dim=0).cpu().numpy().astype(np.int64)
        if self.instances:
            return decode_instances(self.processor, out, size, self.threshold, self.label_of)
        res = self.processor.post_process_object_detection(out, threshold=self.threshold, target_sizes=[size])[0]
        boxes = res["boxes"].float().cpu().numpy().reshape(-1, 4)
        scores = res["scores"].float().cpu().numpy().ravel()
        labels = res["labels"].cpu().numpy().ravel().astype(int)
        if self.label_of is not None:
            keep = [j for j, lab in enumerate(labels) if int(lab) in self.label_of]
            boxes, scores = boxes[keep], scores[keep]
            labels = np.array([self.label_of[int(labels[j])] for j in keep], dtype=int)
        xywh = [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in boxes]
        return {"boxes": xywh, "scores": scores.tolist(), "labels": labels.tolist()}

    def _prompt_features(self, msg: ChatMessage) -> Any:
        """The processor's tensors for the chat-templated prompt (with the generation prompt) and images."""
        from PIL import Image

        images = [Image.fromarray(to_rgb_uint8(im, self.name)) for im in msg.images]
        text = self.prompt_template.format(text=msg.text)
        messages: list[dict[str, Any]] = []
        system = msg.system if msg.system is not None else self.system
        if system:
            messages.append({"role": "system", "content": [{"type": "text", "text": str(system)}]})
        messages.append({"role": "user", "content": [{"type": "image"} for _ in images]
                         + [{"type": "text", "text": text}]})
        if getattr(self.processor, "chat_template", None) is None:
            raise ModelError(f"{self.name}: the processor has no chat template (chat_template.jinja)")
        prompt = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        feats = self.processor(images=images or None, text=[prompt], return_tensors="pt").to(self.device)
        if self.dtype is not None:
            feats = feats.to(self.dtype)  # floating tensors only (pixel values), ids stay integers
        return feats

    def _generate(self, msg: ChatMessage) -> str:
        feats = self._prompt_features(msg)
        gen: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.temperature > 0}
        if self.temperature > 0:
            gen["temperature"] = self.parent.temperature
        with self.torch.inference_mode():
            out = self.model.generate(**feats, **gen)
        new = out[:, feats["input_ids"].shape[1]:]
        return str(self.processor.batch_decode(new, skip_special_tokens=True)[0]).strip()

    def option_logliks(self, msg: ChatMessage) -> list[tuple[float, int]]:
        """``(sum of token log-probabilities, token count)`` of each of ``msg.choices`` after the prompt."""
        torch = self.torch
        choices = tuple(getattr(msg, "choices", ()) or ())
        if not choices:
            raise ModelError(f"{self.name}: scoring=loglik needs a message with its option texts (choices), "
                             f"as spectro items carry; got {type(msg).__name__} without them")
        feats = self._prompt_features(msg)
        ids, mask = feats["input_ids"], feats["attention_mask"]
        rest = {k: v for k, v in feats.items() if k not in ("input_ids", "attention_mask")}
        out = []
        for choice in choices:
            opt = self.processor.tokenizer(str(choice), add_special_tokens=False, return_tensors="pt")["input_ids"]
            n = int(opt.shape[1])
            if n == 0:
                raise ModelError(f"{self.name}: the option {choice!r} tokenises to nothing")
            full = torch.cat([ids, opt.to(ids.device)], dim=1)
            with torch.inference_mode():
                logits = self.model(input_ids=full, attention_mask=torch.cat([mask, torch.ones_like(opt).to(
                    mask.device)], dim=1), **rest).logits
            # the token at position t is predicted by the logits at t - 1
            logp = torch.log_softmax(logits[0, ids.shape[1] - 1: full.shape[1] - 1].float(), dim=-1)
            out.append((float(logp.gather(1, full[0, ids.shape[1]:, None]).sum()), n))
        return out

    def _best_option(self, msg: ChatMessage) -> str:
        scores = self.option_logliks(msg)
        self.last_logliks.append(scores)
        key = [s / n if self.loglik_norm == "mean" else s for s, n in scores]
        labels = str(getattr(msg, "labels", "ABCDEFGH"))
        return labels[int(np.argmax(key))]

    @property
    def temperature(self) -> float:
        return self.parent.temperature


def load_hf_model(rest: str, **options: Any) -> HFModel:
    """The ``hf:`` scheme factory: ``rest`` is a local directory or a cached hub id."""
    if not rest:
        raise InputError(None, "model 'hf:'", "'hf:path/to/model' or 'hf:org/name' (already downloaded)")
    return HFModel(rest, **options)
