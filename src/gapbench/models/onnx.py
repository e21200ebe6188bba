"""``onnx:`` models: ONNX Runtime sessions with declared pre- and post-processing for vision tasks.

``onnx:path/model.onnx``; the processing is declared in ``path/model.yaml`` (or ``model.onnx.yaml``)
beside the model, and options (``load_model("onnx:m.onnx", threshold=0.3)``) override the file:

Preprocessing (image -> input tensor), in this order:
  1. RGB uint8 (grey and RGBA converted), ``channels: BGR`` reverses the channel order;
  2. resized (PIL bilinear, aspect ratio not kept) to ``input_size: [H, W]``, default the model's
     static input height and width (required when they are dynamic); ``letterbox: true``
     (Ultralytics' ``LetterBox``: aspect ratio kept, centred, padded with grey 114) instead, for
     object detection and classification; detections are then mapped back through the padding
     and gain and clipped to the image (Ultralytics' ``scale_boxes``);
  3. ``x * scale`` (default ``1/255``), then ``(x - mean) / std`` per channel (defaults 0 and 1);
  4. ``layout: NCHW | NHWC`` (default: NHWC when the model's last input dimension is 3, else
     NCHW), cast to the input's element type. ``input``: the input name (default the first).
  Samples of a batch are stacked into one run when the batch dimension is dynamic; else one run each.

Post-processing by task type (``outputs``: output names, default the session's order):
* ``image-classification``: the first output, ``(1, C)`` -> C scores (``softmax: true`` to turn
  logits into probabilities; top-k is the same either way).
* ``object-detection`` -> ``Detections`` (COCO ``[x, y, w, h]`` in pixels of the original image:
  boxes are scaled back per axis, or through the letterbox), ``format``:
    - ``yolo`` (default): one output ``(1, 4+C, N)`` or ``(1, N, 4+C)`` (the smaller axis is the
      channel axis), rows ``cx, cy, w, h`` in input pixels then C class scores (``objectness:
      true`` for YOLOv5-style ``4+1+C``, score = objectness x class score); keep score >=
      ``threshold`` (0.25), greedy per-class NMS at IoU > ``nms_iou`` (0.45), at most ``max_det`` (100);
    - ``yolo-seg`` (YOLOv8-seg / YOLO11-seg / YOLOv5-seg exports): outputs ``(1, 4+C+M, N)`` (or
      transposed; ``objectness: true`` for YOLOv5-seg's ``5+C+M``) and prototypes ``(1, M, mh, mw)``
      (``outputs``: default the first two); boxes decoded as ``yolo``, then each kept detection
      gets a boolean mask at the image size (the last M values are its mask coefficients:
      Ultralytics' ``process_mask`` + ``scale_masks``, see :mod:`gapbench.models.onnx_masks`),
      so the ``coco`` task scores ``segm_*`` beside the box stats (Ultralytics models were trained
      on letterboxed inputs: declare ``letterbox: true``);
    - ``detr``: outputs ``logits (1, Q, C+1)`` (last class = no object; softmax) and ``boxes
      (1, Q, 4)`` normalised ``cx, cy, w, h``; keep score >= ``threshold`` (0.5);
    - ``boxes``: outputs ``boxes (1, N, 4)`` as ``x0, y0, x1, y1`` in input pixels, ``scores (1, N)``,
      ``labels (1, N)``; keep score >= ``threshold``.
  Labels are the model's class indices, or ``label_map[index]`` when given (e.g. the 80 YOLO
  classes -> COCO category ids 1..90), or mapped by class name with ``labels=`` as for ``hf:``
  (``labels=@instances_val2017.json``: the annotations' category ids; ``labels=person=1,car=3``;
  classes not named are dropped): the names are ``names:`` (a list, in class order) or the model's
  metadata ``names`` (what Ultralytics exports write: ``{0: 'person', ...}``).
* ``semantic-segmentation``: the first output, ``(1, C, h, w)`` logits (upsampled bilinearly to the
  image size, then arg-max) or ``(1, h, w)`` class indices (nearest-neighbour resize) -> ``SegMask``.

``fingerprint()`` hashes the ONNX file, the YAML file and the onnxruntime version; ``settings()``
is the resolved processing, so changing ``mean`` or ``threshold`` never reuses cached answers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gapbench.errors import InputError, ModelError
from gapbench.models._common import check_options, hash_files, opt_bool, opt_float, opt_int, opt_list, to_rgb_uint8
from gapbench.models.base import ModelAdapter
from gapbench.models.label_ids import label_map_by_name, parse_labels
from gapbench.models.onnx_masks import instance_masks, letterbox_geometry, letterbox_image, unletterbox_boxes

TASKS = ("image-classification", "object-detection", "semantic-segmentation")
OPTIONS = ("input_size", "layout", "channels", "scale", "mean", "std", "input", "outputs", "softmax", "format",
           "objectness", "threshold", "nms_iou", "max_det", "label_map", "providers", "letterbox", "labels", "names")
_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
          "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def _floats(v: Any, key: str, n: int | None = None) -> list[float]:
    if isinstance(v, str):
        v = [p for p in v.replace("[", "").replace("]", "").split(",") if p.strip()]
    try:
        out = [float(x) for x in (v if isinstance(v, (list, tuple)) else [v])]
    except (TypeError, ValueError):
        raise InputError(None, f"option {key!r}", "numbers", v) from None
    if n is not None and len(out) == 1:
        out = out * n
    if n is not None and len(out) != n:
        raise InputError(None, f"option {key!r}", f"{n} numbers", v)
    return out


def _sidecar(path: Path) -> tuple[dict[str, Any], Path | None]:
    for cand in (path.with_suffix(".yaml"), path.with_name(path.name + ".yaml")):
        if cand.is_file():
            import yaml

            try:
                data = yaml.safe_load(cand.read_text()) or {}
            except yaml.YAMLError as exc:
                raise InputError(str(cand), None, "YAML", str(exc).splitlines()[0]) from None
            if not isinstance(data, dict):
                raise InputError(str(cand), None, "a mapping of processing settings", type(data).__name__)
            return data, cand
    return {}, None


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression on ``x0, y0, x1, y1`` boxes: indices kept, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    keep: list[int] = []
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if not order:
            break
        rest = np.array(order)
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        union = area[i] + area[rest] - inter
        ov = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        order = [j for j, o in zip(order, ov) if o <= iou]
    return keep


def _class_names(session: Any, given: list[str] | None) -> list[str] | None:
    """Class names in class-index order: ``names:`` when given, else the model's metadata ``names``
    (Ultralytics writes ``str(dict)``, e.g. ``{0: 'person', 1: 'bicycle'}``; a JSON list also reads)."""
    if given:
        return given
    import ast

    raw = session.get_modelmeta().custom_metadata_map.get("names")
    try:
        names = ast.literal_eval(raw) if raw else None
    except (ValueError, SyntaxError):
        return None
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        return [str(names[k]) for k in sorted(names)]
    return [str(n) for n in names] if isinstance(names, list) else None


class OnnxModel(ModelAdapter):
    """An ONNX Runtime session with the declared processing; ``for_task`` picks the post-processing."""

    task_types = TASKS

    def __init__(self, path: str, **options: Any) -> None:
        check_options(options, OPTIONS, f"onnx:{path}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError(f"onnx: models need onnxruntime (pip install 'gapbench[onnx]'): {exc}") from None
        self.name = f"onnx:{path}"
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise InputError(str(self.path), None, "an ONNX model file")
        declared, self.yaml_path = _sidecar(self.path)
        unknown = sorted(set(declared) - set(OPTIONS))
        if unknown:
            raise InputError(str(self.yaml_path), None, f"keys among {', '.join(OPTIONS)}", ", ".join(unknown))
        o = {**declared, **options}
        providers = o.get("providers") or ["CPUExecutionProvider"]
        providers = providers.split(",") if isinstance(providers, str) else list(providers)
        try:
            self.session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise InputError(str(self.path), None, "a model ONNX Runtime can load",
                             str(exc).splitlines()[0][:120]) from None
        self._ort_version = ort.__version__
        inputs = self.session.get_inputs()
        names = [i.name for i in inputs]
        self.input = str(o.get("input", names[0]))
        if self.input not in names:
            raise InputError(self.name, "option 'input'", f"one of {names}", self.input)
        meta = inputs[names.index(self.input)]
        shape = list(meta.shape)
        if len(shape) != 4:
            raise InputError(self.name, f"input {self.input}", "a 4-D image input", shape)
        self.layout = str(o.get("layout", "NHWC" if shape[3] == 3 else "NCHW")).upper()
        if self.layout not in ("NCHW", "NHWC"):
            raise InputError(self.name, "option 'layout'", "NCHW or NHWC", self.layout)
        hw = shape[2:4] if self.layout == "NCHW" else shape[1:3]
        if "input_size" in o:
            size = [int(x) for x in _floats(o["input_size"], "input_size", 2)]
        elif all(isinstance(d, int) and d > 0 for d in hw):
            size = [int(d) for d in hw]
        else:
            raise InputError(self.name, "option 'input_size'", "[H, W] (the model's input size is dynamic)")
        self.size = (size[0], size[1])
        self.batched = not (isinstance(shape[0], int) and shape[0] == 1)
        self.dtype = _TYPES.get(meta.type, np.float32)
        self.channels = str(o.get("channels", "RGB")).upper()
        if self.channels not in ("RGB", "BGR"):
            raise InputError(self.name, "option 'channels'", "RGB or BGR", self.channels)
        self.scale = _floats(o.get("scale", 1 / 255), "scale")[0]
        self.mean = np.array(_floats(o.get("mean", 0.0), "mean", 3), np.float32)
        self.std = np.array(_floats(o.get("std", 1.0), "std", 3), np.float32)
        if (self.std == 0).any():
            raise InputError(self.name, "option 'std'", "non-zero values", self.std.tolist())
        outs = [x.name for x in self.session.get_outputs()]
        self.outputs = o.get("outputs") or outs
        self.outputs = self.outputs.split(",") if isinstance(self.outputs, str) else list(self.outputs)
        if set(self.outputs) - set(outs):
            raise InputError(self.name, "option 'outputs'", f"names among {outs}", self.outputs)
        self.softmax = opt_bool(o, "softmax", False)
        self.format = str(o.get("format", "yolo"))
        if self.format not in ("yolo", "yolo-seg", "detr", "boxes"):
            raise InputError(self.name, "option 'format'", "yolo, yolo-seg, detr or boxes", self.format)
        self.letterbox = opt_bool(o, "letterbox", False)
        self.objectness = opt_bool(o, "objectness", False)
        self.threshold = opt_float(o, "threshold", 0.25 if self.format.startswith("yolo") else 0.5)
        self.nms_iou = opt_float(o, "nms_iou", 0.45)
        self.max_det = opt_int(o, "max_det", 100)
        lm = o.get("label_map")
        # class index -> output label; None drops the class (one ``labels=`` does not name)
        self.label_map: list[int | None] | None = (
            [int(x) for x in _floats(lm, "label_map")] if lm is not None else None)
        spec = parse_labels(opt_list(o, "labels"), self.name)
        if spec is not None:
            if lm is not None:
                raise InputError(self.name, "option 'labels'", "either labels or label_map", "both")
            self.label_map = label_map_by_name(spec, _class_names(self.session, opt_list(o, "names")), self.name)

    def fingerprint(self) -> str:
        files = [self.path] + ([self.yaml_path] if self.yaml_path else [])
        return hash_files(files, ("onnxruntime", self._ort_version))

    def settings(self) -> dict[str, Any]:
        return {"input": self.input, "size": list(self.size), "layout": self.layout, "channels": self.channels,
                "scale": self.scale, "mean": self.mean.tolist(), "std": self.std.tolist(), "outputs": self.outputs,
                "softmax": self.softmax, "format": self.format, "objectness": self.objectness,
                "threshold": self.threshold, "nms_iou": self.nms_iou, "max_det": self.max_det,
                "label_map": self.label_map, **({"letterbox": True} if self.letterbox else {})}

    def for_task(self, task_type: str) -> ModelAdapter:
        super().for_task(task_type)
        if self.letterbox and task_type == "semantic-segmentation":
            raise InputError(self.name, "option 'letterbox'", "object-detection or image-classification "
                             "(semantic-segmentation masks are resized back per axis)", task_type)
        return _OnnxTask(self, task_type)

    def predict(self, batch: list[Any]) -> list[Any]:
        raise ModelError(f"{self.name}: call for_task(task_type) first (one of {', '.join(TASKS)})")

    def tensor(self, image: Any) -> tuple[np.ndarray, tuple[int, int]]:
        """One image -> (``1 x ...`` input tensor, original ``(H, W)``), as declared above."""
        from PIL import Image

        rgb = to_rgb_uint8(image, self.name)
        orig = (int(rgb.shape[0]), int(rgb.shape[1]))
        if self.channels == "BGR":
            rgb = rgb[:, :, ::-1]
        if self.letterbox:
            rgb = letterbox_image(rgb, self.size)
        elif orig != self.size:
            rgb = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(self.size[::-1], Image.BILINEAR))
        x = (rgb.astype(np.float32) * np.float32(self.scale) - self.mean) / self.std
        if self.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None]).astype(self.dtype, copy=False), orig


class _OnnxTask(ModelAdapter):
    """``OnnxModel`` bound to one task type."""

    def __init__(self, parent: OnnxModel, task_type: str) -> None:
        self.parent = parent
        self.name = parent.name
        self.task_type = task_type
        self.task_types = (task_type,)

    def fingerprint(self) -> str:
        return self.parent.fingerprint()

    def settings(self) -> dict[str, Any]:
        return {"task": self.task_type, **self.parent.settings()}

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        return self.parent.tensor(input)

    def predict(self, batch: list[Any]) -> list[Any]:
        p = self.parent
        if p.batched and len(batch) > 1:
            outs = p.session.run(p.outputs, {p.input: np.concatenate([x for x, _ in batch])})
            per = [[o[j:j + 1] for o in outs] for j in range(len(batch))]
        else:
            per = [p.session.run(p.outputs, {p.input: x}) for x, _ in batch]
        return [self._post(o, size) for o, (_, size) in zip(per, batch)]

    def _bad(self, expected: str, got: Any) -> ModelError:
        return ModelError(f"{self.name}: expected {expected} from the model, got {got}")

    def _post(self, outs: list[np.ndarray], size: tuple[int, int]) -> Any:
        p = self.parent
        if self.task_type == "image-classification":
            s = np.asarray(outs[0], np.float64).reshape(-1)
            if np.asarray(outs[0]).ndim > 2 or s.size == 0:
                raise self._bad("class scores (1, C)", np.asarray(outs[0]).shape)
            if p.softmax:
                e = np.exp(s - s.max())
                s = e / e.sum()
            return s
        if self.task_type == "semantic-segmentation":
            return self._mask(np.asarray(outs[0]), size)
        return self._detections(outs, size)

    def _mask(self, out: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        from PIL import Image

        h, w = size
        if out.ndim == 4 and out.shape[0] == 1:
            chans = [np.asarray(Image.fromarray(c.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))
                     for c in out[0]]
            return np.argmax(np.stack(chans), axis=0).astype(np.int64)
        if out.ndim == 3 and out.shape[0] == 1 and np.issubdtype(out.dtype, np.integer):
            m = Image.fromarray(out[0].astype(np.int32), mode="I").resize((w, h), Image.NEAREST)
            return np.asarray(m).astype(np.int64)
        raise self._bad("(1, C, h, w) logits or (1, h, w) class indices", out.shape)

    def _detections(self, outs: list[np.ndarray], size: tuple[int, int]) -> dict[str, Any]:
        p = self.parent
        coeffs = protos = None
        if p.format in ("yolo", "yolo-seg"):
            o = np.asarray(outs[0], np.float64)
            m = 0
            if p.format == "yolo-seg":
                protos = np.asarray(outs[1]) if len(outs) > 1 else None
                if protos is None or protos.ndim != 4 or protos.shape[0] != 1 or min(protos.shape[1:]) < 1:
                    raise self._bad("a second output of mask prototypes (1, M, mh, mw) (format yolo-seg)",
                                    "no second output" if protos is None else protos.shape)
                protos, m = protos[0], protos.shape[1]
            if o.ndim != 3 or o.shape[0] != 1:
                raise self._bad(f"(1, 4+C{'+M' * bool(m)}, N) or (1, N, 4+C{'+M' * bool(m)}) detections", o.shape)
            o = o[0].T if o.shape[1] < o.shape[2] else o[0]  # (N, 4+C[+M]): the smaller axis holds the values
            first = 5 if p.objectness else 4
            if o.shape[1] <= first + m:
                raise self._bad(f"at least {first + 1 + m} values per detection ({first} box"
                                f"{' + objectness' * p.objectness}, C >= 1 class scores"
                                f"{f', M = {m} mask coefficients as the prototypes have' if m else ''})",
                                o.shape)
            if m:
                o, coeffs = o[:, :-m], o[:, -m:]
            cls = o[:, first:] * (o[:, 4:5] if p.objectness else 1.0)
            labels, scores = cls.argmax(1), cls.max(1)
            cx, cy, bw, bh = o[:, 0], o[:, 1], o[:, 2], o[:, 3]
            xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        elif p.format == "detr":
            if len(outs) < 2:
                raise self._bad("two outputs (logits, boxes)", len(outs))
            logits, boxes = np.asarray(outs[0], np.float64)[0], np.asarray(outs[1], np.float64)[0]
            if logits.ndim != 2 or boxes.shape != (logits.shape[0], 4):
                raise self._bad("logits (1, Q, C+1) and boxes (1, Q, 4)", f"{logits.shape} and {boxes.shape}")
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = (e / e.sum(1, keepdims=True))[:, :-1]
            labels, scores = prob.argmax(1), prob.max(1)
            cx, cy, bw, bh = (boxes[:, k] for k in range(4))
            ih, iw = p.size
            xyxy = np.stack([(cx - bw / 2) * iw, (cy - bh / 2) * ih, (cx + bw / 2) * iw, (cy + bh / 2) * ih], 1)
        else:
            if len(outs) < 3:
                raise self._bad("three outputs (boxes, scores, labels)", len(outs))
            xyxy = np.asarray(outs[0], np.float64).reshape(-1, 4)
            scores = np.asarray(outs[1], np.float64).reshape(-1)
            labels = np.asarray(outs[2]).reshape(-1).astype(int)
            if not (len(xyxy) == len(scores) == len(labels)):
                raise self._bad("as many boxes, scores and labels", (len(xyxy), len(scores), len(labels)))
        keep = np.flatnonzero(scores >= p.threshold)
        if p.format in ("yolo", "yolo-seg") and keep.size:
            kept: list[int] = []
            for c in np.unique(labels[keep]):
                idx = keep[labels[keep] == c]
                kept += [int(idx[j]) for j in nms(xyxy[idx], scores[idx], p.nms_iou)]
            keep = np.array(kept, dtype=int)
        keep = keep[np.argsort(-scores[keep], kind="stable")][: p.max_det]
        lb = letterbox_geometry(size, p.size) if p.letterbox else None
        if lb is not None:
            back = unletterbox_boxes(xyxy[keep], lb, size)
        else:  # per axis, as the image was resized
            back = xyxy[keep] * np.array([size[1] / p.size[1], size[0] / p.size[0]] * 2)
        out_boxes = [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in back]
        labs: list[int] = [int(labels[i]) for i in keep]
        if p.label_map is not None:
            if any(lab >= len(p.label_map) for lab in labs):
                raise self._bad(f"class indices below {len(p.label_map)} (label_map)", max(labs))
            named = [j for j, lab in enumerate(labs) if p.label_map[lab] is not None]  # labels= drops the rest
            keep = keep[named]
            labs = [int(p.label_map[labs[j]]) for j in named]  # type: ignore[arg-type]
            out_boxes = [out_boxes[j] for j in named]
        out = {"boxes": out_boxes, "scores": [float(scores[i]) for i in keep], "labels": labs}
        if coeffs is not None and protos is not None:
            out["masks"] = instance_masks(coeffs[keep], protos, xyxy[keep], p.size, size, lb)
        return out


def load_onnx_model(rest: str, **options: Any) -> OnnxModel:
    """The ``onnx:`` scheme factory: ``rest`` is the path of a ``.onnx`` file."""
    if not rest:
        raise InputError(None, "model 'onnx:'", "'onnx:path/to/model.onnx'")
    return OnnxModel(rest, **options)
