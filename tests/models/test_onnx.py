"""``onnx:`` adapter on small graphs built here with the onnx helper API (nothing downloaded).

Expected values come from the declared processing computed in numpy, or, for detection, from
boxes written into the graph and the NMS / scaling definitions worked by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest
from capture_task import Capture, memory_task
from coco_ref import pyco_stats

from gapbench.core.sample import Sample
from gapbench.errors import InputError, ModelError
from gapbench.models.registry import load_model
from gapbench.runner.local import run_task

onnx = pytest.importorskip("onnx", reason="building test graphs needs onnx (in gapbench[test])")
pytest.importorskip("onnxruntime", reason="onnx: models need onnxruntime (gapbench[onnx])")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

W = np.array([[1.0, -2.0, 0.5, 0.0], [0.3, 1.0, -1.0, 2.0], [-0.7, 0.2, 1.5, -1.0]], np.float32)


def _save(graph, path) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def classifier(path, layout: str = "NCHW", batch: int | str = "N") -> str:
    """logits = mean over pixels per channel @ W (3 x 4)."""
    shape = [batch, 3, 8, 8] if layout == "NCHW" else [batch, 8, 8, 3]
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=0),
             helper.make_node("MatMul", ["m", "w"], ["logits"])]
    g = helper.make_graph(nodes, "cls", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 4])],
                          [numpy_helper.from_array(W, "w"), numpy_helper.from_array(np.array(axes, np.int64), "axes")])
    return _save(g, path)


def constant_outputs(path, outputs: dict[str, np.ndarray], size=(16, 16)) -> str:
    """Outputs fixed tensors (added to 0 * mean(x), so the input is used): a stand-in detector."""
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"])]
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    outs = []
    for name, arr in outputs.items():
        inits.append(numpy_helper.from_array(arr.astype(np.float32), name + "_c"))
        nodes.append(helper.make_node("Add", [name + "_c", "z"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(arr.shape)))
    g = helper.make_graph(nodes, "det", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, *size])],
                          outs, inits)
    return _save(g, path)


def segmenter(path) -> str:
    """logits = the first two channels of the input: class 1 wherever channel 1 > channel 0."""
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["logits"])]
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
             (("starts", [0]), ("ends", [2]), ("axes", [1]))]
    g = helper.make_graph(nodes, "seg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, 8, 8])], inits)
    return _save(g, path)


def _run(name: str, type_: str, items: list[Sample], model, batch_size: int = 3) -> list:
    task = memory_task("onnx", name, type_, items)
    cap = Capture()
    run_task(task, model, metric=cap, cache=False, batch_size=batch_size, show_progress=False)
    return cap.preds


def _imgs(n: int, shape=(8, 8, 3), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def _ref_logits(img: np.ndarray, mean, std, bgr: bool = False) -> np.ndarray:
    x = img[:, :, ::-1] if bgr else img
    x = (x.astype(np.float64) / 255.0 - np.asarray(mean)) / np.asarray(std)
    return x.reshape(-1, 3).mean(0) @ W.astype(np.float64)


@pytest.mark.parametrize("layout,batch", [("NCHW", "N"), ("NHWC", 1)])
def test_classification_applies_declared_mean_std_and_layout(tmp_path, layout, batch):
    path = classifier(tmp_path / "cls.onnx", layout, batch)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    (tmp_path / "cls.yaml").write_text(f"mean: {mean}\nstd: {std}\n")
    imgs = _imgs(5)
    preds = _run(f"cls-{layout}", "image-classification", [Sample(f"i{i}", im, 0) for i, im in enumerate(imgs)],
                 "onnx:" + path)
    for p, im in zip(preds, imgs):
        np.testing.assert_allclose(p.scores, _ref_logits(im, mean, std), rtol=1e-4, atol=1e-4)


def test_options_override_the_yaml_and_softmax_and_bgr(tmp_path):
    path = classifier(tmp_path / "m.onnx")
    (tmp_path / "m.yaml").write_text("mean: 0.5\nstd: 0.25\n")
    im = _imgs(1, seed=3)[0]
    view = load_model("onnx:" + path, channels="BGR", softmax="true", mean="0.1,0.2,0.3").for_task(
        "image-classification")
    got = view.predict([view.preprocess(im)])[0]
    ref = _ref_logits(im, [0.1, 0.2, 0.3], [0.25] * 3, bgr=True)
    np.testing.assert_allclose(got, np.exp(ref) / np.exp(ref).sum(), rtol=1e-5)
    assert load_model("onnx:" + path).settings() != load_model("onnx:" + path, std=0.5).settings()


def test_yolo_decoding_nms_threshold_and_scaling_back(tmp_path):
    # rows: cx, cy, w, h (input pixels of a 16 x 16 input), then 2 class scores; layout (1, 6, N)
    dets = np.array([[8, 8, 4, 4, 0.9, 0.1],      # kept (class 0)
                     [8.5, 8, 4, 4, 0.8, 0.0],    # IoU with the first 0.78 > 0.45: suppressed
                     [8, 8, 4, 4, 0.0, 0.7],      # same box, class 1: kept (NMS is per class)
                     [2, 2, 2, 2, 0.1, 0.2]]      # below the threshold 0.25
                    + [[1, 1, 1, 1, 0, 0]] * 4)  # background: N = 8 > 6 values, as in real YOLO outputs
    path = constant_outputs(tmp_path / "yolo.onnx", {"out": dets.T[None]})
    img = _imgs(1, shape=(32, 48, 3))[0]  # 2x taller, 3x wider than the input: boxes scale per axis
    (p,) = _run("yolo", "object-detection", [Sample("a", img, None)], load_model("onnx:" + path, label_map="1,3"))
    assert p.labels == (1, 3) and p.scores == pytest.approx((0.9, 0.7))
    assert p.boxes[0] == pytest.approx((6 * 3, 6 * 2, 4 * 3, 4 * 2))
    # (1, N, 6) is the same model; objectness multiplies
    path2 = constant_outputs(tmp_path / "yolo2.onnx", {"out": dets[None]})
    view = load_model("onnx:" + path2, objectness=True, threshold=0.05).for_task("object-detection")
    out = view.predict([view.preprocess(img)])[0]
    # objectness = column 4, one class score = column 5: scores 0.09, 0, 0, 0.02, 0... -> only the first stays
    assert out["scores"] == pytest.approx([0.09]) and out["labels"] == [0]


def test_detr_decoding(tmp_path):
    logits = np.array([[[4.0, 0.0, 0.0], [0.0, 0.0, 5.0]]])  # query 2 is "no object"
    boxes = np.array([[[0.5, 0.25, 0.5, 0.5], [0.1, 0.1, 0.1, 0.1]]])
    path = constant_outputs(tmp_path / "detr.onnx", {"logits": logits, "boxes": boxes})
    view = load_model("onnx:" + path, format="detr").for_task("object-detection")
    out = view.predict([view.preprocess(_imgs(1, shape=(20, 40, 3))[0])])[0]
    s = np.exp(4.0) / (np.exp(4.0) + 2)
    assert out["labels"] == [0] and out["scores"] == pytest.approx([s])
    assert out["boxes"][0] == pytest.approx((0.25 * 40, 0.0, 0.5 * 40, 0.5 * 20))


def test_segmentation_argmax_at_the_image_size(tmp_path):
    path = segmenter(tmp_path / "seg.onnx")
    imgs = _imgs(2, seed=4)
    preds = _run("seg", "semantic-segmentation", [Sample(f"s{i}", im, None) for i, im in enumerate(imgs)],
                 "onnx:" + path)
    for p, im in zip(preds, imgs):
        np.testing.assert_array_equal(p.mask, (im[:, :, 1] > im[:, :, 0]).astype(np.int64))
    big = _imgs(1, shape=(16, 24, 3))[0]
    view = load_model("onnx:" + path).for_task("semantic-segmentation")
    assert view.predict([view.preprocess(big)])[0].shape == (16, 24)


def test_bad_models_and_options_are_one_line(tmp_path):
    with pytest.raises(InputError, match="ONNX model file"):
        load_model("onnx:" + str(tmp_path / "missing.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match="ONNX Runtime can load"):
        load_model("onnx:" + str(tmp_path / "junk.onnx"))
    path = classifier(tmp_path / "c.onnx")
    (tmp_path / "c.yaml").write_text("meen: 0.5\n")
    with pytest.raises(InputError, match="meen"):
        load_model("onnx:" + path)
    (tmp_path / "c.yaml").unlink()
    with pytest.raises(InputError, match="format"):
        load_model("onnx:" + path, format="ssd")
    view = load_model("onnx:" + path).for_task("semantic-segmentation")  # a classifier is no segmenter
    with pytest.raises(ModelError, match="logits") as err:
        view.predict([view.preprocess(_imgs(1)[0])])
    assert "\n" not in str(err.value)


def test_fingerprint_follows_the_model_and_its_yaml(tmp_path):
    path = classifier(tmp_path / "f.onnx")
    a = load_model("onnx:" + path).fingerprint()
    (tmp_path / "f.yaml").write_text("std: 0.5\n")
    b = load_model("onnx:" + path).fingerprint()
    classifier(tmp_path / "f.onnx", batch=1)
    assert len({a, b, load_model("onnx:" + path).fingerprint()}) == 3


def test_real_rapidocr_direction_classifier_matches_rapidocr_preprocessing():
    """The PP-OCR text-direction classifier that ships in the rapidocr wheel, declared as
    input_size [48, 192], mean/std 0.5, BGR: equal to rapidocr's own resize_norm_img + session."""
    rapidocr = pytest.importorskip("rapidocr", reason="the real-model check uses rapidocr's bundled ONNX files")
    from pathlib import Path
    from types import SimpleNamespace

    import onnxruntime as ort
    from PIL import Image, ImageDraw
    from rapidocr.ch_ppocr_cls.main import TextClassifier

    path = Path(rapidocr.__file__).parent / "models" / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
    canvas = Image.new("RGB", (192, 48), (250, 245, 235))
    ImageDraw.Draw(canvas).text((6, 14), "gapbench reads text", fill=(20, 30, 90))
    upright = np.asarray(canvas)
    model = load_model(f"onnx:{path}", input_size="48,192", mean=0.5, std=0.5, channels="BGR")
    preds = _run("rapidocr-cls", "image-classification", [Sample("up", upright, 0), Sample("down", upright[::-1, ::-1], 1)],
                 model, batch_size=2)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = SimpleNamespace(cls_image_shape=[3, 48, 192])
    for p, img in zip(preds, (upright, upright[::-1, ::-1])):
        x = TextClassifier.resize_norm_img(shape, np.ascontiguousarray(img[:, :, ::-1]))[None]
        ref = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
        np.testing.assert_allclose(p.scores, ref, rtol=1e-4, atol=1e-5)


# --- yolo-seg: instance masks (YOLOv8-seg / YOLO11-seg export layout) --------------------------------------------
# A 32 x 32 input, C = 2 classes, M = 3 mask coefficients, 8 x 8 prototypes (1/4 of the input, as in the real models).
SEG_IN = (32, 32)
_yy, _xx = np.mgrid[:8, :8]
PROTOS = np.stack([np.exp(-((_xx - 3.3) ** 2 + (_yy - 3.1) ** 2) / 5.0) - 0.55,  # a blob
                   (_xx - 2.7) / 4.0,  # a ramp in x
                   (_yy - 4.2) / 3.0])[None].astype(np.float32)  # a ramp in y
SEG_DETS = np.array([[16, 14, 20, 12, 0.9, 0.1, 1.0, 0.0, 0.0],       # class 0, blob mask
                     [16.5, 14, 20, 12, 0.8, 0.0, -1.0, 0.3, 0.0],    # IoU 0.95 with the first: suppressed
                     [10, 22, 12, 15, 0.2, 0.7, 0.1, -1.0, 0.6],      # class 1, oblique half-plane in its box
                     [24, 6, 6, 6, 0.1, 0.2, 1.0, 0.0, 0.0]]          # below the threshold 0.25
                    + [[1, 1, 1, 1, 0, 0, 0, 0, 0]] * 8, np.float32)  # N = 12 > 9 values per candidate


def seg_model(path, dets=SEG_DETS, protos=PROTOS, transpose=True) -> str:
    return constant_outputs(path, {"output0": dets.T[None] if transpose else dets[None], "output1": protos},
                            size=SEG_IN)


def _ref_resize(a: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Bilinear resize, PyTorch ``F.interpolate(mode="bilinear", align_corners=False)`` from its definition:
    output pixel (i, j) samples the input at ((i + .5) * h/oh - .5, (j + .5) * w/ow - .5), clamped at 0,
    neighbours clamped at the last row / column; the 2-D weighted sum of the four neighbours."""
    h, w = a.shape
    out = np.empty((oh, ow))
    for i in range(oh):
        sy = max((i + 0.5) * h / oh - 0.5, 0.0)
        y0 = min(int(np.floor(sy)), h - 1)
        y1, ly = min(y0 + 1, h - 1), sy - y0
        for j in range(ow):
            sx = max((j + 0.5) * w / ow - 0.5, 0.0)
            x0 = min(int(np.floor(sx)), w - 1)
            x1, lx = min(x0 + 1, w - 1), sx - x0
            out[i, j] = ((1 - ly) * (1 - lx) * a[y0, x0] + (1 - ly) * lx * a[y0, x1]
                         + ly * (1 - lx) * a[y1, x0] + ly * lx * a[y1, x1])
    return out


def _ref_letterbox(h0: int, w0: int) -> tuple[float, int, int, int, int]:
    """Ultralytics LetterBox(auto=False): gain, top, left, resized height and width."""
    r = min(SEG_IN[0] / h0, SEG_IN[1] / w0)
    nh, nw = round(h0 * r), round(w0 * r)
    return r, round((SEG_IN[0] - nh) / 2 - 0.1), round((SEG_IN[1] - nw) / 2 - 0.1), nh, nw


def _ref_instance(row: np.ndarray, orig: tuple[int, int], letterbox: bool) -> tuple[tuple, np.ndarray]:
    """One candidate row -> (COCO box in image pixels, boolean mask), written from Ultralytics' process_mask
    (logits, crop in prototype pixels, upsample to the input) and scale_masks (padding off, resize), > 0."""
    cx, cy, bw, bh = (float(v) for v in row[:4])
    x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
    protos = PROTOS[0].astype(np.float64)
    logits = sum(float(c) * protos[k] for k, c in enumerate(row[-3:]))
    mh, mw = protos.shape[1:]
    for r in range(mh):
        for c in range(mw):
            inside = x0 * mw / SEG_IN[1] <= c < x1 * mw / SEG_IN[1] and y0 * mh / SEG_IN[0] <= r < y1 * mh / SEG_IN[0]
            logits[r, c] = logits[r, c] if inside else 0.0
    up = _ref_resize(logits, *SEG_IN)
    h0, w0 = orig
    if letterbox:
        g, top, left, nh, nw = _ref_letterbox(h0, w0)
        up = up[top:top + nh, left:left + nw]
        bx = [min(max((x0 - left) / g, 0), w0), min(max((y0 - top) / g, 0), h0),
              min(max((x1 - left) / g, 0), w0), min(max((y1 - top) / g, 0), h0)]
    else:
        sx, sy = w0 / SEG_IN[1], h0 / SEG_IN[0]
        bx = [x0 * sx, y0 * sy, x1 * sx, y1 * sy]
    return (bx[0], bx[1], bx[2] - bx[0], bx[3] - bx[1]), _ref_resize(up, h0, w0) > 0


@pytest.mark.parametrize("orig, letterbox", [((20, 40), True),    # wide: padded above and below
                                             ((50, 30), True),    # tall, downscaled: 6.5 px a side -> 6 and 7
                                             ((12, 18), True),    # upscaled: 5.5 px -> 5 above, 6 below
                                             ((45, 45), True),    # square: no padding
                                             ((20, 40), False)])  # plain per-axis resize
def test_yolo_seg_masks_equal_the_reference(tmp_path, orig, letterbox):
    path = seg_model(tmp_path / "seg.onnx")
    view = load_model("onnx:" + path, format="yolo-seg", letterbox=letterbox).for_task("object-detection")
    out = view.predict([view.preprocess(_imgs(1, shape=(*orig, 3))[0])])[0]
    assert out["labels"] == [0, 1] and out["scores"] == pytest.approx([0.9, 0.7])
    for k, row in enumerate(SEG_DETS[[0, 2]]):
        box, mask = _ref_instance(row, orig, letterbox)
        assert out["boxes"][k] == pytest.approx(box, abs=1e-9)
        assert out["masks"][k].shape == orig and out["masks"][k].dtype == bool
        np.testing.assert_array_equal(out["masks"][k], mask)
        assert 0 < mask.sum() < mask.size and (mask == 0).any()


def test_yolo_seg_layouts_objectness_and_output_names(tmp_path):
    img = _imgs(1, shape=(20, 40, 3))[0]
    a = load_model("onnx:" + seg_model(tmp_path / "a.onnx"), format="yolo-seg", letterbox=True)
    b = load_model("onnx:" + seg_model(tmp_path / "b.onnx", transpose=False), format="yolo-seg", letterbox=True)
    got = [v.predict([v.preprocess(img)])[0] for v in (a.for_task("object-detection"), b.for_task("object-detection"))]
    assert got[0]["boxes"] == got[1]["boxes"]
    assert all((x == y).all() for x, y in zip(got[0]["masks"], got[1]["masks"]))
    # outputs named in another order: the option picks them
    path = constant_outputs(tmp_path / "c.onnx", {"protos": PROTOS, "dets": SEG_DETS.T[None]}, size=SEG_IN)
    view = load_model("onnx:" + path, format="yolo-seg", letterbox=True, outputs="dets,protos").for_task(
        "object-detection")
    out = view.predict([view.preprocess(img)])[0]
    assert out["boxes"] == got[0]["boxes"] and all((x == y).all() for x, y in zip(out["masks"], got[0]["masks"]))
    # YOLOv5-seg: 5 + C + M with objectness (score = objectness x class score)
    v5 = np.concatenate([SEG_DETS[:, :4], np.full((len(SEG_DETS), 1), 0.5, np.float32), SEG_DETS[:, 4:]], 1)
    view = load_model("onnx:" + seg_model(tmp_path / "v5.onnx", dets=v5), format="yolo-seg", objectness=True,
                      threshold=0.2, letterbox=True).for_task("object-detection")
    out = view.predict([view.preprocess(img)])[0]
    assert out["scores"] == pytest.approx([0.45, 0.35]) and out["boxes"] == got[0]["boxes"]
    assert all((x == y).all() for x, y in zip(out["masks"], got[0]["masks"]))


def test_letterbox_preprocessing_pads_with_grey_and_keeps_the_aspect(tmp_path):
    from PIL import Image

    path = seg_model(tmp_path / "seg.onnx")
    img = _imgs(1, shape=(50, 30, 3), seed=5)[0]
    x, size = load_model("onnx:" + path, letterbox=True).tensor(img)
    assert size == (50, 30) and x.shape == (1, 3, *SEG_IN)
    chw = x[0]
    _, top, left, nh, nw = _ref_letterbox(50, 30)
    assert (top, left, nh, nw) == (0, 6, 32, 19)
    resized = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR)).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(chw[:, top:top + nh, left:left + nw], resized, atol=1e-6)
    np.testing.assert_allclose(chw[:, :, :left], 114 / 255, atol=1e-6)
    np.testing.assert_allclose(chw[:, :, left + nw:], 114 / 255, atol=1e-6)
    with pytest.raises(InputError, match="letterbox"):
        load_model("onnx:" + path, letterbox=True).for_task("semantic-segmentation")


def test_yolo_seg_bad_outputs_are_one_line(tmp_path):
    img = _imgs(1, shape=(20, 40, 3))[0]

    def run(path, **kw):
        view = load_model("onnx:" + path, format="yolo-seg", **kw).for_task("object-detection")
        with pytest.raises(ModelError) as err:
            view.predict([view.preprocess(img)])
        assert "\n" not in str(err.value)
        return str(err.value)

    only = constant_outputs(tmp_path / "one.onnx", {"output0": SEG_DETS.T[None]}, size=SEG_IN)
    assert "prototypes (1, M, mh, mw)" in run(only) and "no second output" in run(only)
    assert "prototypes" in run(seg_model(tmp_path / "m.onnx"), outputs="output0")
    flat = constant_outputs(tmp_path / "3d.onnx", {"o": SEG_DETS.T[None], "p": PROTOS[0]}, size=SEG_IN)
    assert "(1, 3, 8, 8)" not in run(flat) and "(3, 8, 8)" in run(flat)
    # 9 prototypes but 9 values per candidate: no room for the box, a class and 9 coefficients
    many = constant_outputs(tmp_path / "mm.onnx", {"o": SEG_DETS.T[None], "p": np.zeros((1, 9, 8, 8), np.float32)},
                            size=SEG_IN)
    msg = run(many)
    assert "at least 14 values per detection" in msg and "M = 9 mask coefficients" in msg
    two_d = constant_outputs(tmp_path / "2d.onnx", {"o": SEG_DETS, "p": PROTOS}, size=SEG_IN)
    assert "(1, 4+C+M, N)" in run(two_d)


def _ellipse(h: int, w: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return ((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) <= 1).astype(np.uint8)


def test_yolo_seg_end_to_end_segm_equals_pycocotools(tmp_path):
    """``run_task`` on an in-memory COCO-style task (box and segm metrics of the ``coco`` task) with mask
    ground truth: segm_* and the box stats equal pycocotools' COCOeval on the adapter's own predictions."""
    import math

    mask_api = pytest.importorskip("pycocotools.mask")
    from capture_task import SAMPLES

    from gapbench.core.task import Target, TaskSpec
    from gapbench.metrics.coco_accumulate import STAT_NAMES

    path = seg_model(tmp_path / "seg.onnx")
    (tmp_path / "seg.yaml").write_text("format: yolo-seg\nletterbox: true\nlabel_map: [1, 2]\n")
    model = load_model("onnx:" + path)
    view = model.for_task("object-detection")
    cats = [{"id": 1, "name": "blob"}, {"id": 2, "name": "wedge"}]
    sizes = [(20, 40), (50, 30), (12, 18), (45, 45), (36, 52)]
    images, anns, results, boxes, items = [], [], [], [], []
    for k, (h, w) in enumerate(sizes):
        img = _imgs(1, shape=(h, w, 3), seed=k)[0]
        pred = view.predict([view.preprocess(img)])[0]
        for box, score, label, m in zip(pred["boxes"], pred["scores"], pred["labels"], pred["masks"]):
            rle = mask_api.encode(np.asfortranarray(m.astype(np.uint8)))
            results.append({"image_id": k + 1, "category_id": label, "score": score,
                            "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
            boxes.append({"image_id": k + 1, "category_id": label, "score": score, "bbox": list(box)})
        (bx, by, bw, bh) = pred["boxes"][0]
        gts = [(_ellipse(h, w, bx + bw / 2 + k % 3 - 1, by + bh / 2, bw * (0.25 + 0.05 * k), bh * 0.35), 1),
               (np.roll(pred["masks"][1].astype(np.uint8), k % 2, axis=1), 2),  # the wedge, shifted on odd images
               (_ellipse(h, w, w * 0.8, h * 0.8, 2 + k, 2), 1)]  # a small object nobody found
        refs = {"boxes": [], "labels": [], "iscrowd": [], "areas": [], "area_boxes": [], "segmentations": []}
        for m, cat in gts:
            rle = mask_api.encode(np.asfortranarray(m))
            seg = {"size": [h, w], "counts": rle["counts"].decode()}
            bbox, area = [float(v) for v in mask_api.toBbox(rle)], float(mask_api.area(rle))
            anns.append({"id": len(anns) + 1, "image_id": k + 1, "category_id": cat, "segmentation": seg,
                         "area": area, "bbox": bbox, "iscrowd": 0})
            for key, v in (("boxes", bbox), ("labels", cat), ("iscrowd", 0), ("areas", area),
                           ("area_boxes", bbox), ("segmentations", seg)):
                refs[key].append(v)
        images.append({"id": k + 1, "width": w, "height": h, "file_name": f"{k}.png"})
        items.append(Sample(str(k + 1), img, {**refs, "width": w, "height": h, "categories": cats,
                                              "image_id": k + 1}))
    SAMPLES["onnx-yolo-seg-e2e"] = items
    task = TaskSpec(name="onnx-test-yolo-seg", type="object-detection",
                    dataset=Target("capture_task:samples", {"name": "onnx-yolo-seg-e2e"}),
                    metrics=(Target("gapbench.metrics.detection:BoxDetectionMetric"),
                             Target("gapbench.metrics.detection:InstanceSegMetric")))
    out = run_task(task, model, cache=False, batch_size=2, show_progress=False, ci=False)

    gt = {"images": images, "annotations": anns, "categories": cats}

    segm, bbox = pyco_stats(gt, results, "segm"), pyco_stats(gt, boxes, "bbox")
    assert 0.1 < segm[0] < 0.95 and not np.array_equal(segm, bbox, equal_nan=True)  # numbers that mean something, and masks are not boxes
    for name, s_ref, b_ref in zip(STAT_NAMES, segm, bbox):
        got_s, got_b = out.metrics[f"segm_{name}"].value, out.metrics[name].value
        assert (math.isnan(got_s) and math.isnan(s_ref)) or got_s == pytest.approx(s_ref, abs=1e-12), name
        assert (math.isnan(got_b) and math.isnan(b_ref)) or got_b == pytest.approx(b_ref, abs=1e-12), name


def test_yolo_seg_masks_equal_ultralytics_ops_written_with_torch(tmp_path):
    """A second reference: Ultralytics' process_mask / scale_masks steps with torch's own ops
    (``F.interpolate(mode="bilinear", align_corners=False)``), on a letterboxed 30 x 70 image."""
    torch = pytest.importorskip("torch", reason="the torch cross-check needs torch (gapbench[hf])")
    import torch.nn.functional as F

    path = seg_model(tmp_path / "seg.onnx")
    view = load_model("onnx:" + path, format="yolo-seg", letterbox=True).for_task("object-detection")
    h0, w0 = 30, 70
    out = view.predict([view.preprocess(_imgs(1, shape=(h0, w0, 3))[0])])[0]
    rows = torch.tensor(SEG_DETS[[0, 2]], dtype=torch.float64)
    protos = torch.tensor(PROTOS[0], dtype=torch.float64)
    xyxy = torch.cat([rows[:, :2] - rows[:, 2:4] / 2, rows[:, :2] + rows[:, 2:4] / 2], 1)
    masks = (rows[:, -3:] @ protos.view(3, -1)).view(-1, 8, 8)
    down = xyxy * torch.tensor([8 / SEG_IN[1], 8 / SEG_IN[0]] * 2, dtype=torch.float64)
    x1, y1, x2, y2 = torch.chunk(down[:, :, None], 4, 1)
    r = torch.arange(8, dtype=torch.float64)[None, None, :]
    c = torch.arange(8, dtype=torch.float64)[None, :, None]
    masks = masks * ((r >= x1) * (r < x2) * (c >= y1) * (c < y2))
    masks = F.interpolate(masks[None], SEG_IN, mode="bilinear", align_corners=False)[0]
    _, top, left, nh, nw = _ref_letterbox(h0, w0)
    masks = F.interpolate(masks[None, :, top:top + nh, left:left + nw], (h0, w0), mode="bilinear",
                          align_corners=False)[0]
    for got, ref in zip(out["masks"], masks.gt(0.0).numpy()):
        np.testing.assert_array_equal(got, ref)
        assert 0 < ref.sum() < ref.size


def test_labels_map_class_names_to_category_ids(tmp_path):
    """``labels=``: an Ultralytics export's metadata names its classes; a COCO annotations file (or
    NAME=ID) gives their category ids, and classes it does not name are dropped."""
    dets = np.array([[4, 4, 4, 4, 0.9, 0.0, 0.0],     # person
                     [12, 12, 4, 4, 0.0, 0.8, 0.0],   # bicycle
                     [4, 12, 4, 4, 0.0, 0.0, 0.7]]    # car
                    + [[1, 1, 1, 1, 0, 0, 0]] * 5)
    path = constant_outputs(tmp_path / "yolo.onnx", {"out": dets.T[None]})
    model = onnx.load(path)
    helper.set_model_props(model, {"names": "{0: 'person', 1: 'bicycle', 2: 'car'}"})  # as Ultralytics writes it
    onnx.save(model, path)
    coco = tmp_path / "instances.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": [
        {"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 90, "name": "toothbrush"}]}))
    img = _imgs(1, shape=(16, 16, 3))[0]

    def labels_scores(**opts):
        (p,) = _run("yolo-names", "object-detection", [Sample("a", img, None)], load_model("onnx:" + path, **opts))
        return list(zip(p.labels, p.scores))

    assert labels_scores() == [(0, pytest.approx(0.9)), (1, pytest.approx(0.8)), (2, pytest.approx(0.7))]
    assert labels_scores(labels=f"@{coco}") == [(1, pytest.approx(0.9)), (3, pytest.approx(0.7))]
    assert labels_scores(labels="car=7") == [(7, pytest.approx(0.7))]
    assert labels_scores(labels="car,person") == [(1, pytest.approx(0.9)), (0, pytest.approx(0.7))]
    assert labels_scores(labels="car=5", names="a,b,car") == [(5, pytest.approx(0.7))]  # names= wins
    a = load_model("onnx:" + path, labels=f"@{coco}").settings()["label_map"]
    assert a == [1, None, 3] and a != load_model("onnx:" + path, labels="car=7").settings()["label_map"]
    with pytest.raises(InputError, match="toothbrush"):  # a name given by hand must be the model's
        load_model("onnx:" + path, labels="person=1,toothbrush=90")
    with pytest.raises(InputError, match="either labels or label_map"):
        load_model("onnx:" + path, labels="car=7", label_map="1,2,3")
    bare = constant_outputs(tmp_path / "bare.onnx", {"out": dets.T[None]})
    with pytest.raises(InputError, match="class names"):
        load_model("onnx:" + bare, labels=f"@{coco}")
