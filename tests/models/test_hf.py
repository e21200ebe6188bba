"""``hf:`` adapter: tiny random models built from configs (conftest), loaded back through
``load_model("hf:" + path)`` and run through the local runner; every output is compared with the
same model called directly (a different code path: raw forward + hand decoding)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from capture_task import Capture, memory_task
from coco_ref import pyco_stats

from gapbench.core.media import Audio, ChatMessage
from gapbench.core.sample import Sample
from gapbench.core.task import TaskSpec
from gapbench.errors import InputError, ModelError
from gapbench.models.registry import load_model
from gapbench.runner.local import run_task

torch = pytest.importorskip("torch", reason="hf: tests need torch (pip install 'gapbench[hf]')")
T = pytest.importorskip("transformers", reason="hf: tests need transformers (pip install 'gapbench[hf]')")


def _run(task: TaskSpec, model, batch_size: int = 2) -> list:
    cap = Capture()
    run_task(task, model, metric=cap, cache=False, batch_size=batch_size, show_progress=False)
    return cap.preds


def _images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(24 + 4 * i, 40 - 2 * i, 3), dtype=np.uint8) for i in range(n)]


def test_asr_wav2vec2_resamples_and_matches_direct_ctc_decoding(tiny_hf):
    path = tiny_hf["wav2vec2"]
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(4000 + 800 * i).astype(np.float32) * 0.1 for i in range(3)]
    items = [Sample(f"u{i}", Audio(c, 8000), "hello") for i, c in enumerate(clips)]
    preds = _run(memory_task('hf', "asr", "asr", items), "hf:" + str(path))
    model = T.Wav2Vec2ForCTC.from_pretrained(path).eval()
    proc = T.Wav2Vec2Processor.from_pretrained(path)
    import soxr

    for c, p in zip(clips, preds):
        x = soxr.resample(c.astype(np.float64), 8000, 16000, quality="HQ").astype(np.float32)
        feats = proc(x, sampling_rate=16000, return_tensors="pt")
        with torch.no_grad():
            ids = model(feats.input_values).logits.argmax(-1)[0]
        assert p.text == proc.decode(ids)
    assert len({p.text for p in preds}) > 1  # random weights still tell clips apart


def test_asr_preprocess_resamples_to_the_feature_extractor_rate(tiny_hf):
    view = load_model("hf:" + str(tiny_hf["wav2vec2"])).for_task("asr")
    t = np.arange(8000) / 8000.0
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1)
    x = view.preprocess(Audio(stereo.astype(np.float32), 8000))
    assert x.shape == (16000,)
    assert abs(np.argmax(np.abs(np.fft.rfft(x))) * 16000 / x.size - 440) < 2


def test_image_classification_scores_in_id2label_order_and_label_mapping(tiny_hf):
    path = tiny_hf["vit"]
    imgs = _images(3)
    task = memory_task('hf', "cls", "image-classification", [Sample(f"i{i}", im, 0) for i, im in enumerate(imgs)])
    preds = _run(task, "hf:" + str(path))
    model = T.ViTForImageClassification.from_pretrained(path).eval()
    proc = T.AutoImageProcessor.from_pretrained(path)
    with torch.no_grad():
        ref = [model(**proc(images=im, return_tensors="pt")).logits[0].numpy() for im in imgs]
    for p, r in zip(preds, ref):
        np.testing.assert_allclose(p.scores, r, rtol=1e-5, atol=1e-6)
    mapped = _run(task, load_model("hf:" + str(path), labels="fish,cat"))
    for p, r in zip(mapped, ref):
        np.testing.assert_allclose(p.scores, r[[2, 0]], rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="bird"):
        load_model("hf:" + str(path), labels="cat,bird").for_task("image-classification")
    with pytest.raises(InputError, match="class names in the task's order"):  # ids are for detectors
        load_model("hf:" + str(path), labels="cat=1,fish=2").for_task("image-classification")


def test_object_detection_boxes_are_coco_xywh_in_image_pixels(tiny_hf):
    path = tiny_hf["yolos"]
    imgs = _images(2, seed=5)
    task = memory_task('hf', "det", "object-detection", [Sample(f"d{i}", im, None) for i, im in enumerate(imgs)])
    preds = _run(task, load_model("hf:" + str(path), threshold="0.0"))
    model = T.YolosForObjectDetection.from_pretrained(path).eval()
    proc = T.AutoImageProcessor.from_pretrained(path)
    for im, p in zip(imgs, preds):
        with torch.no_grad():
            out = model(**proc(images=im, return_tensors="pt"))
        prob = out.logits[0].softmax(-1)[:, :-1]  # the last class is "no object"
        scores, labels = prob.max(-1)
        h, w = im.shape[:2]
        cx, cy, bw, bh = out.pred_boxes[0].unbind(-1)
        ref = sorted(zip(scores.tolist(), labels.tolist(), ((cx - bw / 2) * w).tolist(), ((cy - bh / 2) * h).tolist(),
                         (bw * w).tolist(), (bh * h).tolist()))
        got = sorted((s, lab, *b) for s, lab, b in zip(p.scores, p.labels, p.boxes))
        assert len(got) == len(ref) == 5
        np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-4, atol=1e-4)
    high = _run(task, load_model("hf:" + str(path), threshold=0.99))
    assert all(len(p.boxes) == 0 for p in high)


def test_semantic_segmentation_mask_has_the_input_size(tiny_hf):
    path = tiny_hf["segformer"]
    imgs = _images(2, seed=7)
    task = memory_task('hf', "seg", "semantic-segmentation", [Sample(f"s{i}", im, None) for i, im in enumerate(imgs)])
    preds = _run(task, "hf:" + str(path))
    model = T.SegformerForSemanticSegmentation.from_pretrained(path).eval()
    proc = T.AutoImageProcessor.from_pretrained(path)
    for im, p in zip(imgs, preds):
        with torch.no_grad():
            out = model(**proc(images=im, return_tensors="pt"))
        ref = proc.post_process_semantic_segmentation(out, target_sizes=[im.shape[:2]])[0].numpy()
        assert p.mask.shape == im.shape[:2]
        np.testing.assert_array_equal(p.mask, ref)


def test_vlm_generates_from_chat_message_with_images(tiny_hf):
    path = tiny_hf["llava"]
    imgs = _images(2, seed=9)
    text = "which word is the answer A B C D"
    task = memory_task('hf', "vlm", "spectrogram-mcq", [Sample(f"q{i}", ChatMessage(text, (im,)), "A")
                                            for i, im in enumerate(imgs)])
    adapter = load_model("hf:" + str(path), max_new_tokens=4)
    preds = _run(task, adapter)
    model = T.LlavaForConditionalGeneration.from_pretrained(path).eval()
    proc = T.AutoProcessor.from_pretrained(path)
    from PIL import Image
    for im, p in zip(imgs, preds):
        feats = proc(images=[Image.fromarray(im)], text=[f"USER: <image> {text} ASSISTANT: "], return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**feats, max_new_tokens=4, do_sample=False)
        ref = proc.batch_decode(out[:, feats["input_ids"].shape[1]:], skip_special_tokens=True)[0].strip()
        assert p.raw.strip() == ref and ref
    assert adapter.deterministic
    assert adapter.settings() != load_model("hf:" + str(path), max_new_tokens=5).settings()
    assert not load_model("hf:" + str(path), temperature=0.7).deterministic


def test_fingerprint_follows_the_weights_and_for_task_never_mutates(tiny_hf, tmp_path):
    import shutil
    src = tiny_hf["vit"]
    copy = tmp_path / "vit"
    shutil.copytree(src, copy)
    a, b = load_model("hf:" + str(src)), load_model("hf:" + str(copy))
    assert a.fingerprint() == b.fingerprint()
    view = a.for_task("image-classification")
    assert view is not a and view.task_types == ("image-classification",) and a.task_types != view.task_types
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert load_model("hf:" + str(copy)).fingerprint() != a.fingerprint()


def test_hub_id_without_local_copy_is_one_line_and_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelError) as err:
        load_model("hf:someorg/not-here")
    msg = str(err.value)
    assert "\n" not in msg and "no local copy" in msg and "never downloads" in msg
    with pytest.raises(InputError, match="config.json"):
        load_model("hf:" + str(tmp_path))
    with pytest.raises(InputError, match="thresold"):
        load_model("hf:" + str(tmp_path), thresold=0.3)


def test_wrong_task_type_and_wrong_input_are_one_line(tiny_hf):
    m = load_model("hf:" + str(tiny_hf["vit"]))
    with pytest.raises(InputError, match="diarization"):
        m.for_task("diarization")
    with pytest.raises(InputError, match="image"):
        m.for_task("image-classification").preprocess(np.zeros((2, 2, 2, 2)))


def test_asr_whisper_matches_direct_generate_and_chunks_long_audio(tiny_hf):
    path = tiny_hf["whisper"]
    rng = np.random.default_rng(3)
    clip = (rng.standard_normal(12000) * 0.1).astype(np.float32)
    (p,) = _run(memory_task('hf', "whisper", "asr", [Sample("w", Audio(clip, 16000), "x")]), "hf:" + str(path))
    model = T.WhisperForConditionalGeneration.from_pretrained(path).eval()
    proc = T.WhisperProcessor.from_pretrained(path)
    feats = proc.feature_extractor(clip, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(feats.input_features)
    assert p.text.strip() == proc.tokenizer.decode(ids[0], skip_special_tokens=True).strip()
    view = load_model("hf:" + str(path)).for_task("asr")
    assert view.chunk_length_s == 1.0  # the tiny model's window: a 3 s clip is chunked, not cut at 1 s
    assert isinstance(view.predict([view.preprocess(Audio(np.tile(clip, 4), 16000))])[0], str)


def test_dtype_option_changes_settings_and_stays_close(tiny_hf):
    path = "hf:" + str(tiny_hf["vit"])
    im = _images(1, seed=11)[0]
    full, half = (load_model(path, **kw).for_task("image-classification") for kw in ({}, {"dtype": "bfloat16"}))
    a = full.predict([full.preprocess(im)])[0]
    b = half.predict([half.preprocess(im)])[0]
    assert b.dtype == np.float32 and full.settings() != half.settings()
    np.testing.assert_allclose(a, b, atol=0.05)  # bfloat16 keeps ~3 significant digits
    with pytest.raises(InputError, match="dtype"):
        load_model(path, dtype="int8").for_task("image-classification")


def test_image_classification_and_detection_on_cuda_equal_cpu(tiny_hf):
    """Where a GPU answers (skipped elsewhere): ``device=cuda`` gives the CPU run's answers."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    imgs = _images(3)
    cls = memory_task('hf', "cls", "image-classification", [Sample(f"i{i}", im, 0) for i, im in enumerate(imgs)])
    vit = "hf:" + str(tiny_hf["vit"])
    for c, g in zip(_run(cls, load_model(vit)), _run(cls, load_model(vit, device="cuda"))):
        np.testing.assert_allclose(g.scores, c.scores, rtol=1e-3, atol=1e-3)
    det = memory_task('hf', "det", "object-detection", [Sample(f"d{i}", im, None) for i, im in enumerate(imgs)])
    c_preds = _run(det, load_model("hf:" + str(tiny_hf["yolos"]), threshold="0.0"))
    g_preds = _run(det, load_model("hf:" + str(tiny_hf["yolos"]), threshold="0.0", device="cuda"))
    for c, g in zip(c_preds, g_preds):
        assert len(c.boxes) == len(g.boxes)
        np.testing.assert_allclose(sorted(g.scores), sorted(c.scores), rtol=1e-3, atol=1e-3)


# ---- instance segmentation (Mask2Former): detections with masks ---------------------------------------------------


def _m2f_reference(path, imgs, threshold=0.0, cls=None):
    """The image processor's own ``post_process_instance_segmentation`` on a raw forward pass, per image:
    ``[(binary mask, score, label_id), ...]``."""
    model = (cls or T.Mask2FormerForUniversalSegmentation).from_pretrained(path).eval()
    proc = T.AutoImageProcessor.from_pretrained(path)
    out = []
    for im in imgs:
        with torch.no_grad():
            raw = model(**proc(images=im, return_tensors="pt"))
        res = proc.post_process_instance_segmentation(raw, threshold=threshold, target_sizes=[im.shape[:2]],
                                                      return_binary_maps=True)[0]
        info = res["segments_info"]
        maps = res["segmentation"].numpy().reshape(len(info), *im.shape[:2]) if info else []
        out.append([(m.astype(bool), s["score"], s["label_id"]) for m, s in zip(maps, info)])
    return out


def _decode(rle):
    from pycocotools import mask as mask_api

    return mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def _same_as_processor(imgs, preds, ref):
    """Masks pixel for pixel, scores and labels exactly, boxes = pycocotools' bbox of each mask."""
    from pycocotools import mask as mask_api

    assert sum(len(r) for r in ref) >= 6  # random weights: every non-empty query passes threshold 0
    for im, p, r in zip(imgs, preds, ref):
        assert len(p.masks) == len(p.boxes) == len(r)
        for rle, box, score, label, (m, s, lab) in zip(p.masks, p.boxes, p.scores, p.labels, r):
            got = _decode(rle)
            assert got.shape == im.shape[:2] and got.any()
            np.testing.assert_array_equal(got, m)
            assert score == s and label == lab
            # COCO's bbox of a segment (pycocotools toBbox), from the processor's mask
            np.testing.assert_allclose(box, mask_api.toBbox(mask_api.encode(np.asfortranarray(m.astype(np.uint8)))))


def test_instance_segmentation_masks_equal_the_processors_own_decoding(tiny_hf):
    path = tiny_hf["mask2former"]
    imgs = _images(3, seed=13)
    task = memory_task('hf', "inst", "object-detection", [Sample(f"m{i}", im, None) for i, im in enumerate(imgs)])
    preds = _run(task, load_model("hf:" + str(path), threshold="0.0"))
    ref = _m2f_reference(path, imgs)
    _same_as_processor(imgs, preds, ref)
    # threshold: between two reference scores, exactly the instances at or above it stay
    scores = sorted({s for r in ref for _, s, _ in r})
    t = (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
    high = _run(task, load_model("hf:" + str(path), threshold=t))
    assert [len(p.boxes) for p in high] == [sum(s >= t for _, s, _ in r) for r in ref]
    assert 0 < sum(len(p.boxes) for p in high) < sum(len(r) for r in ref)
    # labels=: positions in the task's class order, other classes dropped
    mapped = _run(task, load_model("hf:" + str(path), threshold=0.0, labels="fish,cat"))
    for p, r in zip(mapped, ref):
        want = [({2: 0, 0: 1}[lab], s) for _, s, lab in r if lab in (2, 0)]
        assert list(zip(p.labels, p.scores)) == want
    assert any(len(p.labels) for p in mapped) and any(lab == 1 for _, _, lab in ref[0] + ref[1] + ref[2])
    # labels=NAME=ID: the data set's category ids; @FILE: a COCO annotations file's, names the model lacks skipped
    by_id = _run(task, load_model("hf:" + str(path), threshold=0.0, labels="fish=90,cat=7"))
    for p, r in zip(by_id, ref):
        assert list(zip(p.labels, p.scores)) == [({2: 90, 0: 7}[lab], s) for _, s, lab in r if lab in (2, 0)]
    cats = path.parent / "instances.json"
    cats.write_text(json.dumps({"images": [], "annotations": [], "categories": [
        {"id": 3, "name": "cat"}, {"id": 11, "name": "zebra"}, {"id": 5, "name": "fish"}]}))
    from_file = _run(task, load_model("hf:" + str(path), threshold=0.0, labels=f"@{cats}"))
    for p, r in zip(from_file, ref):
        assert list(zip(p.labels, p.scores)) == [({2: 5, 0: 3}[lab], s) for _, s, lab in r if lab in (2, 0)]
    assert (load_model("hf:" + str(path), labels=f"@{cats}").settings()["labels"] == "cat=3,zebra=11,fish=5")


def test_maskformer_instance_masks_equal_the_processors_own_decoding(tiny_hf):
    path = tiny_hf["maskformer"]
    imgs = _images(2, seed=15)
    task = memory_task('hf', "inst-mf", "object-detection", [Sample(f"f{i}", im, None) for i, im in enumerate(imgs)])
    preds = _run(task, load_model("hf:" + str(path), threshold=0.0))
    _same_as_processor(imgs, preds, _m2f_reference(path, imgs, cls=T.MaskFormerForInstanceSegmentation))


def test_instance_segmentation_end_to_end_segm_stats_equal_pycocotools(tiny_hf):
    import dataclasses
    import math

    from pycocotools import mask as mask_api

    from gapbench.core.task import Target
    from gapbench.metrics.coco_accumulate import STAT_NAMES

    path = tiny_hf["mask2former"]
    rng = np.random.default_rng(17)
    imgs = [rng.integers(0, 256, size=(40 + 8 * i, 56 - 4 * i, 3), dtype=np.uint8) for i in range(4)]
    ref = _m2f_reference(path, imgs)
    cats = [{"id": k, "name": v} for k, v in sorted(T.Mask2FormerConfig.from_pretrained(path).id2label.items())]
    items, gt_images, gt_anns = [], [], []
    for i, (im, r) in enumerate(zip(imgs, ref)):
        h, w = im.shape[:2]
        masks, labels = [m for m, _, _ in r[::2]], [lab for _, _, lab in r[::2]]  # half the instances are objects
        box = np.zeros((h, w), np.uint8)
        box[2:h // 2, 3:w // 2] = 1  # and one object the model may miss
        masks.append(box.astype(bool))
        labels.append(i % 3)
        rles = [mask_api.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks]
        segs = [{"size": [h, w], "counts": e["counts"].decode()} for e in rles]
        boxes = [[float(v) for v in mask_api.toBbox(e)] for e in rles]
        areas = [float(mask_api.area(e)) for e in rles]
        items.append(Sample(f"{i}", im, {"boxes": boxes, "labels": labels, "segmentations": segs, "areas": areas,
                                         "width": w, "height": h, "categories": cats}))
        gt_images.append({"id": f"{i}", "width": w, "height": h})
        gt_anns += [{"id": len(gt_anns) + k + 1, "image_id": f"{i}", "category_id": lab, "segmentation": s,
                     "area": a, "bbox": b, "iscrowd": 0} for k, (lab, s, a, b) in enumerate(zip(labels, segs, areas,
                                                                                                    boxes))]
    task = dataclasses.replace(memory_task('hf', "inst-coco", "object-detection", items), metrics=(
        Target("gapbench.metrics.detection:BoxDetectionMetric"), Target("gapbench.metrics.detection:InstanceSegMetric")))
    adapter = load_model("hf:" + str(path), threshold=0.0)
    preds = _run(task, adapter)  # the predictions, then the run scored by the task's own metrics
    out = run_task(task, adapter, cache=False, batch_size=2, show_progress=False, ci=False)
    assert sum(len(p.masks) for p in preds) >= 8
    segm = [{"image_id": f"{i}", "category_id": lab, "segmentation": rle, "score": s}
            for i, p in enumerate(preds) for rle, s, lab in zip(p.masks, p.scores, p.labels)]
    bbox = [{"image_id": f"{i}", "category_id": lab, "bbox": list(b), "score": s}
            for i, p in enumerate(preds) for b, s, lab in zip(p.boxes, p.scores, p.labels)]

    gt = {"images": gt_images, "annotations": gt_anns, "categories": cats}
    segm_ref, bbox_ref = pyco_stats(gt, segm, "segm"), pyco_stats(gt, bbox, "bbox")
    assert 0 < segm_ref[0] < 1  # some objects found, some missed: the number means something
    m = out.metrics
    for name, s_ref, b_ref in zip(STAT_NAMES, segm_ref, bbox_ref):
        got = m[f"segm_{name}"].value
        assert (math.isnan(got) and math.isnan(s_ref)) or got == pytest.approx(s_ref, abs=1e-12), name
        got = m[name].value
        assert (math.isnan(got) and math.isnan(b_ref)) or got == pytest.approx(b_ref, abs=1e-12), name


def test_instance_segmentation_model_serves_detection_only(tiny_hf):
    m = load_model("hf:" + str(tiny_hf["mask2former"]))
    assert m.task_types == ("object-detection",)
    for task_type in ("image-classification", "semantic-segmentation"):
        with pytest.raises(InputError, match="mask2former.*object-detection") as err:
            m.for_task(task_type)
        assert "\n" not in str(err.value)
    # a box detector is unchanged: no masks
    view = load_model("hf:" + str(tiny_hf["yolos"]), threshold=0.0).for_task("object-detection")
    assert not view.instances
    (p,) = _run(memory_task('hf', "det1", "object-detection", [Sample("d", _images(1)[0], None)]), view)
    assert len(p.boxes) == 5 and p.masks == ()


def test_unsupported_universal_segmentation_type_is_one_line(tiny_hf, tmp_path):
    import json
    import shutil

    copy = tmp_path / "oneformer"
    shutil.copytree(tiny_hf["mask2former"], copy)
    cfg = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps(dict(cfg, model_type="oneformer")))
    with pytest.raises(ModelError, match="oneformer instance segmentation is not supported") as err:
        load_model("hf:" + str(copy)).for_task("object-detection")
    assert "\n" not in str(err.value)


def test_decode_instances_drops_empty_masks_and_handles_no_instance():
    from types import SimpleNamespace

    from gapbench.models.hf_instances import decode_instances

    full = torch.zeros(3, 4, 5)
    full[0, 1:3, 2:4] = 1  # one instance, an empty one, another
    full[2, 0, 0] = 1
    infos = [{"label_id": 1, "score": 0.9}, {"label_id": 0, "score": 0.8}, {"label_id": 2, "score": 0.7}]
    calls = []

    def post(outputs, threshold, target_sizes, return_binary_maps):
        calls.append((threshold, target_sizes, return_binary_maps, outputs.class_queries_logits.dtype))
        if threshold > 0.95:
            return [{"segmentation": torch.full(target_sizes[0], -1.0), "segments_info": []}]
        return [{"segmentation": full, "segments_info": infos}]

    proc = SimpleNamespace(post_process_instance_segmentation=post)
    out = SimpleNamespace(class_queries_logits=torch.zeros(1, 3, 4, dtype=torch.bfloat16),
                          masks_queries_logits=torch.zeros(1, 3, 2, 2))
    got = decode_instances(proc, out, (4, 5), 0.5, None)
    assert calls == [(0.5, [(4, 5)], True, torch.float32)]
    assert got["boxes"] == [(2.0, 1.0, 2.0, 2.0), (0.0, 0.0, 1.0, 1.0)]
    assert got["scores"] == [0.9, 0.7] and got["labels"] == [1, 2]
    np.testing.assert_array_equal(_decode(got["masks"][0]), full[0].numpy().astype(bool))
    assert decode_instances(proc, out, (4, 5), 0.99, None) == {"boxes": [], "scores": [], "labels": [], "masks": []}
    assert decode_instances(proc, out, (4, 5), 0.5, {2: 0, 0: 1})["labels"] == [0]  # class 2 -> 0; 1 dropped
    assert decode_instances(proc, out, (4, 5), 0.5, {2: 17})["labels"] == [17]  # a category id


def test_instance_segmentation_on_cuda_equals_cpu(tiny_hf):
    """Where a GPU answers (skipped elsewhere): ``device=cuda`` gives the CPU run's instances."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    imgs = _images(3, seed=13)
    task = memory_task('hf', "inst-cuda", "object-detection", [Sample(f"c{i}", im, None) for i, im in enumerate(imgs)])
    path = "hf:" + str(tiny_hf["mask2former"])
    cpu = _run(task, load_model(path, threshold=0.0))
    gpu = _run(task, load_model(path, threshold=0.0, device="cuda"))
    assert sum(len(p.masks) for p in cpu) > 0
    for c, g in zip(cpu, gpu):
        assert len(c.masks) == len(g.masks) and list(c.labels) == list(g.labels)
        np.testing.assert_allclose(g.scores, c.scores, rtol=1e-3, atol=1e-4)
        for a, b in zip(c.masks, g.masks):
            a, b = _decode(a), _decode(b)
            assert (a & b).sum() / max((a | b).sum(), 1) > 0.98
