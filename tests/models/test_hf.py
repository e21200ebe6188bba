"""``hf:`` adapter: tiny random models built from configs (conftest), loaded back through
``load_model("hf:" + path)`` and run through the local runner; every output is compared with the
same model called directly (a different code path: raw forward + hand decoding)."""
from __future__ import annotations

import numpy as np
import pytest
from capture_task import Capture, memory_task

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
