"""``torchvision:`` models: an architecture from ``torchvision.models`` by name, with your weights.

``torchvision:ARCH`` with the option ``weights=PATH`` (or ``torchvision:ARCH:PATH``): the
architecture is built with ``torchvision.models.get_model(ARCH, weights=None, num_classes=N)``
(detection and segmentation builders also with ``weights_backbone=None``), so nothing is ever
downloaded, and the file's ``state_dict`` is loaded strictly (a checkpoint dict holding it under
``model`` or ``state_dict`` is accepted, a ``module.`` prefix from DataParallel is removed). A
missing, unexpected or mis-shaped tensor is one line naming it (``num_classes`` is the usual
cause: the default is 1000 for classification, 91 for detection, 21 for segmentation, torchvision's
own defaults).

Declared preprocessing, as torchvision's reference presets (``torchvision.transforms._presets``)
do on tensors, written with ``torch`` only:

* ``image-classification`` (``ImageClassification``): resize so the shorter side is ``resize``
  (256) with bilinear antialiased interpolation (``F.interpolate(antialias=True)``, rounded back
  to uint8), centre-crop ``crop`` (224; the crop offset ``int(round((size - crop) / 2))``), scale to
  [0, 1], normalise with the ImageNet ``mean`` / ``std``. Output: the logits (top-k is the same
  after softmax).
* ``object-detection`` (``ObjectDetection``): the image scaled to [0, 1]; the model resizes and
  normalises inside (``GeneralizedRCNNTransform``) and maps boxes back to the image. Output boxes
  ``x0, y0, x1, y1`` become COCO ``[x, y, w, h]``; detections below ``threshold`` (default 0:
  the model's own ``box_score_thresh``) are dropped. Labels are the model's indices (for the
  91-class COCO models these are COCO category ids).
* ``semantic-segmentation`` (``SemanticSegmentation``): shorter side resized to ``resize`` (520),
  ImageNet normalisation; the ``out`` logits are upsampled bilinearly to the image size, arg-max.

Options: ``weights``, ``num_classes``, ``resize``, ``crop``, ``mean``, ``std``, ``threshold``,
``device`` (default cpu). ``fingerprint()`` hashes the weights file with the architecture and the
torch / torchvision versions; ``settings()`` is the resolved preprocessing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gapbench.errors import InputError, ModelError
from gapbench.models._common import check_options, hash_files, opt_float, opt_int, to_rgb_uint8
from gapbench.models.base import ModelAdapter

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
OPTIONS = ("weights", "num_classes", "resize", "crop", "mean", "std", "threshold", "device")
_DEFAULT_CLASSES = {"image-classification": 1000, "object-detection": 91, "semantic-segmentation": 21}


def _require() -> tuple[Any, Any]:
    try:
        import torch
        import torchvision
    except ImportError as exc:
        raise ModelError("torchvision: models need torch and torchvision (pip install 'gapbench[torchvision]'; "
                         f"torchvision must match the installed torch): {exc}") from None
    return torch, torchvision


def _floats3(v: Any, key: str) -> tuple[float, float, float]:
    parts = v.split(",") if isinstance(v, str) else list(v)
    try:
        out = tuple(float(x) for x in parts)
    except (TypeError, ValueError):
        raise InputError(None, f"option {key!r}", "three numbers", v) from None
    if len(out) != 3:
        raise InputError(None, f"option {key!r}", "three numbers", v)
    return out  # type: ignore[return-value]


def resize_shorter(torch: Any, img: Any, size: int) -> Any:
    """``(C, H, W)`` uint8 tensor with its shorter side ``size`` (torchvision ``F.resize(img, size)``
    on a uint8 tensor: bilinear, antialias, rounded and clamped back to uint8)."""
    h, w = int(img.shape[-2]), int(img.shape[-1])
    short, long_ = (h, w) if h <= w else (w, h)
    new_short, new_long = size, int(size * long_ / short)
    nh, nw = (new_short, new_long) if h <= w else (new_long, new_short)
    if (nh, nw) == (h, w):
        return img
    x = torch.nn.functional.interpolate(img[None].float(), size=(nh, nw), mode="bilinear", align_corners=False,
                                        antialias=True)[0]
    return x.round_().clamp_(0, 255).to(torch.uint8)


def center_crop(img: Any, crop: int) -> Any:
    """torchvision's ``F.center_crop`` (no padding: images smaller than the crop are refused upstream)."""
    h, w = int(img.shape[-2]), int(img.shape[-1])
    top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
    return img[..., top:top + crop, left:left + crop]


class TorchvisionModel(ModelAdapter):
    """A torchvision architecture with a user's ``state_dict``; ``for_task`` is implied by the architecture."""

    def __init__(self, arch: str, **options: Any) -> None:
        check_options(options, OPTIONS, f"torchvision:{arch}")
        torch, tv = _require()
        self.torch = torch
        self.arch = arch
        self.name = f"torchvision:{arch}"
        models = tv.models
        if arch in models.list_models(module=models.detection):
            self.task = "object-detection"
        elif arch in models.list_models(module=models.segmentation):
            self.task = "semantic-segmentation"
        elif arch in models.list_models(module=models):
            self.task = "image-classification"
        else:
            import difflib

            near = difflib.get_close_matches(arch, models.list_models(), n=1)
            raise InputError(None, f"model torchvision:{arch}", "an architecture of torchvision.models"
                             + (f" (did you mean {near[0]!r}?)" if near else ""), arch)
        self.task_types = (self.task,)
        weights = options.get("weights")
        if not weights:
            raise InputError(None, f"model torchvision:{arch}", "a weights file: --model-option weights=PATH.pth "
                             "(pretrained weights are never downloaded)")
        self.weights = Path(str(weights)).expanduser()
        if not self.weights.is_file():
            raise InputError(str(self.weights), None, "a state_dict file (.pth)")
        self.num_classes = opt_int(options, "num_classes", _DEFAULT_CLASSES[self.task])
        self.resize = opt_int(options, "resize", 520 if self.task == "semantic-segmentation" else 256)
        self.crop = opt_int(options, "crop", 224)
        self.mean = _floats3(options.get("mean", IMAGENET_MEAN), "mean")
        self.std = _floats3(options.get("std", IMAGENET_STD), "std")
        if min(self.std) <= 0:
            raise InputError(None, "option 'std'", "positive values", self.std)
        self.threshold = opt_float(options, "threshold", 0.0)
        self.device = str(options.get("device", "cpu"))
        kwargs: dict[str, Any] = {"weights": None, "num_classes": self.num_classes}
        if self.task != "image-classification":
            kwargs["weights_backbone"] = None
        try:
            model = models.get_model(arch, **kwargs)
        except (TypeError, ValueError) as exc:
            raise InputError(None, f"model torchvision:{arch}", "an architecture built from options",
                             str(exc).splitlines()[0]) from None
        self._load(model)
        self.model = model.eval().to(self.device)
        self._versions = (torch.__version__, getattr(tv, "__version__", "?"))

    def _load(self, model: Any) -> None:
        try:
            sd = self.torch.load(self.weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
            raise InputError(str(self.weights), None, "a torch state_dict file", first) from None
        if isinstance(sd, dict):
            for key in ("model", "state_dict"):
                if isinstance(sd.get(key), dict):
                    sd = sd[key]
        if not isinstance(sd, dict) or not sd:
            raise InputError(str(self.weights), None, "a state_dict (a dict of tensors)", type(sd).__name__)
        sd = {k.removeprefix("module."): v for k, v in sd.items()}
        own = model.state_dict()
        missing = [k for k in own if k not in sd]
        unexpected = [k for k in sd if k not in own]
        shape = [k for k in own if k in sd and tuple(own[k].shape) != tuple(getattr(sd[k], "shape", ()))]
        if missing or unexpected or shape:
            what = (f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}" if unexpected
                    else f"{shape[0]!r} of shape {tuple(sd[shape[0]].shape)} where {self.arch} with "
                    f"num_classes={self.num_classes} has {tuple(own[shape[0]].shape)}")
            raise InputError(str(self.weights), None, f"the state_dict of {self.arch} (set --model-option "
                             "num_classes=N if the head differs)", what)
        model.load_state_dict(sd, strict=True)

    def fingerprint(self) -> str:
        return hash_files([self.weights], ("torchvision", self.arch, self.num_classes, self._versions))

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "num_classes": self.num_classes}
        if self.task == "object-detection":
            out["threshold"] = self.threshold
        else:
            out.update({"resize": self.resize, "mean": list(self.mean), "std": list(self.std)})
            if self.task == "image-classification":
                out["crop"] = self.crop
        return out

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        """One image -> ``(float CHW tensor, original (H, W))`` as declared in the module docstring."""
        torch = self.torch
        rgb = to_rgb_uint8(input, self.name)
        size = (int(rgb.shape[0]), int(rgb.shape[1]))
        img = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))  # one copy, CHW (and writable)
        if self.task == "object-detection":
            return img.float().div_(255.0), size
        img = resize_shorter(torch, img, int(self.resize or 0))
        if self.task == "image-classification":
            if min(img.shape[-2:]) < (self.crop or 0):
                raise InputError(self.name, None, f"a resize of at least the crop ({self.crop})", self.resize)
            img = center_crop(img, int(self.crop or 0))
        x = img.float().div_(255.0)
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        return (x - mean) / std, size

    def predict(self, batch: list[Any]) -> list[Any]:
        torch = self.torch
        with torch.inference_mode():
            if self.task == "object-detection":
                outs = self.model([x.to(self.device) for x, _ in batch])
                return [self._detections(o) for o in outs]
            if self.task == "image-classification":
                logits = self.model(torch.stack([x for x, _ in batch]).to(self.device))
                if logits.ndim != 2 or logits.shape[0] != len(batch):
                    raise ModelError(f"{self.name}: expected logits (N, C), got {tuple(logits.shape)}")
                return [row for row in logits.double().cpu().numpy()]
            out = []
            for x, size in batch:  # images of a batch differ in size after the shorter-side resize
                o = self.model(x[None].to(self.device))
                logits = o["out"] if isinstance(o, dict) else o
                if logits.ndim != 4:
                    raise ModelError(f"{self.name}: expected logits (1, C, h, w), got {tuple(logits.shape)}")
                up = torch.nn.functional.interpolate(logits.float(), size=size, mode="bilinear", align_corners=False)
                out.append(up[0].argmax(0).cpu().numpy().astype(np.int64))
            return out

    def _detections(self, o: Any) -> dict[str, Any]:
        if not isinstance(o, dict) or not {"boxes", "scores", "labels"} <= set(o):
            raise ModelError(f"{self.name}: expected detections {{boxes, scores, labels}}, got {type(o).__name__}")
        xyxy = o["boxes"].double().cpu().numpy().reshape(-1, 4)
        scores = o["scores"].double().cpu().numpy().reshape(-1)
        labels = o["labels"].cpu().numpy().reshape(-1)
        keep = np.flatnonzero(scores >= (self.threshold or 0.0))
        keep = keep[np.argsort(-scores[keep], kind="stable")]
        return {"boxes": [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in xyxy[keep]],
                "scores": [float(scores[i]) for i in keep], "labels": [int(labels[i]) for i in keep]}


def load_torchvision_model(rest: str, **options: Any) -> TorchvisionModel:
    """The ``torchvision:`` scheme factory: ``ARCH`` (weights as an option) or ``ARCH:PATH``."""
    arch, sep, path = rest.partition(":")
    if not arch:
        raise InputError(None, "model 'torchvision:'", "'torchvision:ARCH' with --model-option weights=PATH")
    if sep and path:
        if options.get("weights"):
            raise InputError(None, f"model torchvision:{rest}", "the weights once (in the URI or as an option)")
        options = {**options, "weights": path}
    return TorchvisionModel(arch, **options)
