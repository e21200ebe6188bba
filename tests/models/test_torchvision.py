"""``torchvision:`` adapter.

Where torchvision imports, real architectures (resnet18, fasterrcnn_mobilenet_v3_large_320_fpn)
with random weights saved to a tmp state_dict run through the pipeline and are compared with
torchvision's own presets and the model called directly. Elsewhere those tests skip with the
reason, and the adapter's own logic (weights loading and checking, the declared preprocessing,
the three output conversions, the runner) is exercised with real torch modules behind a
stand-in ``torchvision.models`` namespace (``get_model`` / ``list_models``) built here.
"""
from __future__ import annotations

import dataclasses
import sys
import types

import numpy as np
import pytest

from gapbench.errors import InputError, ModelError
from gapbench.models.registry import load_model

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0: the CPU wheel)")

NO_TV = "torchvision is not importable here (PyPI's torchvision pins another torch; see OFFLINE.md)"
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _real_torchvision():
    try:
        import torchvision
    except ImportError:
        pytest.skip(NO_TV)
    return torchvision


# ---- a stand-in torchvision.models namespace (real torch modules) --------------------------------

class _Cls(torch.nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


class _Det(torch.nn.Module):
    """Two boxes per image from its size: the top-left quarter (score 0.9), the centre (0.2)."""

    def __init__(self, num_classes: int = 91, weights_backbone=None) -> None:
        super().__init__()
        self.head = torch.nn.Linear(1, num_classes)

    def forward(self, images):
        out = []
        for im in images:
            h, w = im.shape[-2:]
            out.append({"boxes": torch.tensor([[0.0, 0.0, w / 2, h / 2], [w / 4, h / 4, 3 * w / 4, 3 * h / 4]]),
                        "scores": torch.tensor([0.9, 0.2]), "labels": torch.tensor([1, 2])})
        return out


class _Seg(torch.nn.Module):
    def __init__(self, num_classes: int = 21, weights_backbone=None) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, num_classes, 1)

    def forward(self, x):
        return {"out": self.conv(x)}


@pytest.fixture
def fake_tv(monkeypatch):
    models = types.ModuleType("torchvision.models")
    models.detection = types.ModuleType("torchvision.models.detection")
    models.segmentation = types.ModuleType("torchvision.models.segmentation")
    builders = {"tinynet": _Cls, "tinydet": _Det, "tinyseg": _Seg}
    where = {"tinynet": models, "tinydet": models.detection, "tinyseg": models.segmentation}

    def list_models(module=None):
        return sorted(n for n in builders if module is None or where[n] is module)

    def get_model(name, weights=None, **kw):
        assert weights is None  # never pretrained
        return builders[name](**kw)

    models.list_models, models.get_model = list_models, get_model
    tv = types.ModuleType("torchvision")
    tv.models, tv.__version__ = models, "0.0-standin"
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    return tv


def _save(module, path, wrap=None):
    sd = module.state_dict()
    if wrap:
        sd = {wrap: {f"module.{k}": v for k, v in sd.items()}}
    torch.save(sd, path)
    return path


def test_classification_preprocessing_and_logits(fake_tv, tmp_path):
    torch.manual_seed(0)
    net = _Cls(num_classes=7)
    w = _save(net, tmp_path / "w.pth")
    m = load_model("torchvision:tinynet", weights=str(w), num_classes="7")
    assert m.task_types == ("image-classification",) and m.settings()["crop"] == 224
    img = np.full((300, 500, 3), (10, 128, 250), np.uint8)  # constant: resize and crop keep it
    x, size = m.preprocess(img)
    assert tuple(x.shape) == (3, 224, 224) and size == (300, 500)
    want = torch.tensor([(c / 255 - mu) / s for c, mu, s in zip((10, 128, 250), MEAN, STD)]).view(3, 1, 1)
    assert torch.allclose(x, want.expand(3, 224, 224), atol=1e-6)
    with torch.inference_mode():
        ref = net(want.expand(1, 3, 224, 224).float())[0].double().numpy()
    assert np.allclose(m.predict([(x, size)])[0], ref, atol=1e-6)


def test_resize_and_crop_geometry(fake_tv):
    from gapbench.models.torchvision_model import center_crop, resize_shorter

    img = torch.zeros((3, 375, 500), dtype=torch.uint8)
    assert tuple(resize_shorter(torch, img, 256).shape) == (3, 256, 341)  # int(256 * 500 / 375)
    assert tuple(resize_shorter(torch, img.transpose(1, 2), 256).shape) == (3, 341, 256)
    marked = torch.arange(9 * 9).view(1, 9, 9)
    assert center_crop(marked, 4)[0, 0, 0].item() == 2 * 9 + 2  # offset round((9 - 4) / 2) = 2 (banker's)


def test_classification_end_to_end_on_an_imagefolder(fake_tv, tmp_path):
    from PIL import Image

    from gapbench.core.task import Target, get_task
    from gapbench.runner.local import run_task

    torch.manual_seed(1)
    net = _Cls(num_classes=2)
    w = _save(net, tmp_path / "w.pth", wrap="state_dict")  # a checkpoint with DataParallel names
    for cls, v in (("a", 20), ("b", 230)):
        (tmp_path / "f" / cls).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(np.full((240, 260, 3), v + k, np.uint8)).save(tmp_path / "f" / cls / f"{k}.png")
    task = get_task("imagefolder")
    task = dataclasses.replace(task, name="tv-test", dataset=Target(task.dataset.target, {"data": str(tmp_path / "f")}))
    m = load_model(f"torchvision:tinynet:{w}", num_classes=2)
    out = run_task(task, m, cache=False, show_progress=False, ci=False)
    expected = []
    with torch.inference_mode():
        for v in (20, 21, 230, 231):
            x = torch.tensor([(v / 255 - mu) / s for mu, s in zip(MEAN, STD)]).view(1, 3, 1, 1).expand(1, 3, 224, 224)
            expected.append(int(net(x.float()).argmax()))
    assert out.metrics["top1"].value == pytest.approx(np.mean(np.array(expected) == [0, 0, 1, 1]))
    assert out.clean.n_computed == 4


def test_detection_boxes_become_coco_xywh_above_the_threshold(fake_tv, tmp_path):
    w = _save(_Det(num_classes=3), tmp_path / "d.pth")
    m = load_model("torchvision:tinydet", weights=str(w), num_classes=3)
    x, size = m.preprocess(np.zeros((40, 80, 3), np.uint8))
    assert float(x.max()) == 0.0 and tuple(x.shape) == (3, 40, 80)
    (d,) = m.predict([(x, size)])
    assert d == {"boxes": [[0.0, 0.0, 40.0, 20.0], [20.0, 10.0, 40.0, 20.0]], "scores": [pytest.approx(0.9),
                 pytest.approx(0.2)], "labels": [1, 2]}
    strict = load_model("torchvision:tinydet", weights=str(w), num_classes=3, threshold="0.5")
    assert strict.predict([(x, size)])[0]["labels"] == [1] and strict.settings() != m.settings()


def test_segmentation_mask_at_the_image_size(fake_tv, tmp_path):
    torch.manual_seed(2)
    w = _save(_Seg(num_classes=4), tmp_path / "s.pth")
    m = load_model("torchvision:tinyseg", weights=str(w), num_classes=4, resize=32)
    x, size = m.preprocess(np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8))
    assert tuple(x.shape) == (3, 32, 44)
    (mask,) = m.predict([(x, size)])
    assert mask.shape == (50, 70) and mask.dtype == np.int64 and mask.max() < 4


def test_bad_weights_and_names_are_one_line(fake_tv, tmp_path):
    w = _save(_Cls(num_classes=5), tmp_path / "w.pth")
    with pytest.raises(InputError, match="num_classes"):
        load_model("torchvision:tinynet", weights=str(w))  # default 1000 classes: the head differs
    with pytest.raises(InputError, match="weights=PATH"):
        load_model("torchvision:tinynet")
    with pytest.raises(InputError, match="did you mean 'tinynet'"):
        load_model("torchvision:tinynett", weights=str(w))
    with pytest.raises(InputError, match="state_dict file"):
        load_model("torchvision:tinynet", weights=str(tmp_path / "none.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth"):
        load_model("torchvision:tinynet", weights=str(tmp_path / "junk.pth"), num_classes=5)
    with pytest.raises(InputError, match="options among"):
        load_model("torchvision:tinynet", weights=str(w), num_classe=5)


def test_fingerprint_follows_the_weights(fake_tv, tmp_path):
    torch.manual_seed(3)
    a = load_model("torchvision:tinynet", weights=str(_save(_Cls(5), tmp_path / "a.pth")), num_classes=5)
    b = load_model("torchvision:tinynet", weights=str(_save(_Cls(5), tmp_path / "b.pth")), num_classes=5)
    assert a.fingerprint() != b.fingerprint() and a.fingerprint() == a.fingerprint()


def test_without_torchvision_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(ModelError, match=r"gapbench\[torchvision\]"):
        load_model("torchvision:resnet18", weights=str(tmp_path / "w.pth"))


# ---- real torchvision ----------------------------------------------------------------------------

def test_real_resnet18_matches_torchvision_preset(tmp_path):
    tv = _real_torchvision()
    from torchvision.transforms._presets import ImageClassification

    torch.manual_seed(0)
    net = tv.models.resnet18(weights=None, num_classes=10).eval()
    w = _save(net, tmp_path / "r18.pth")
    m = load_model("torchvision:resnet18", weights=str(w), num_classes=10)
    img = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    x, size = m.preprocess(img)
    ref_x = ImageClassification(crop_size=224, resize_size=256)(torch.from_numpy(img).permute(2, 0, 1))
    # the same preset; torchvision may take a native uint8 resize kernel (rounding can differ by one
    # grey level, 1/255/std in the normalised tensor), never more
    assert float((x - ref_x).abs().max()) <= 1 / 255 / min(STD) + 1e-6
    assert float((x - ref_x).abs().mean()) < 1e-3
    with torch.inference_mode():
        ref = net(x[None]).double().numpy()[0]
    assert np.allclose(m.predict([(x, size)])[0], ref, atol=1e-5)


@pytest.mark.slow
def test_real_fasterrcnn_end_to_end(tmp_path):
    tv = _real_torchvision()
    from gapbench.runner.local import run_task

    torch.manual_seed(0)
    net = tv.models.get_model("fasterrcnn_mobilenet_v3_large_320_fpn", weights=None, weights_backbone=None,
                              num_classes=2).eval()
    w = _save(net, tmp_path / "frcnn.pth")
    m = load_model("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", weights=str(w), num_classes=2)
    img = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    with torch.inference_mode():
        ref = net([torch.from_numpy(img).permute(2, 0, 1).float() / 255])[0]
    (d,) = m.predict([m.preprocess(img)])
    assert len(d["boxes"]) == len(ref["boxes"])
    out = run_task("faces", m, limit=2, cache=False, show_progress=False, ci=False)
    assert 0.0 <= out.metrics["AP"].value <= 1.0 or np.isnan(out.metrics["AP"].value)


def _cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")


def test_real_resnet18_on_cuda_equals_cpu(tmp_path):
    """Where a GPU answers: ``device=cuda`` gives the CPU run's logits (float32 kernels differ in the
    last bits; TF32 is off by default for convolutions in this comparison)."""
    tv = _real_torchvision()
    _cuda()
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    w = _save(tv.models.resnet18(weights=None, num_classes=10).eval(), tmp_path / "r18.pth")
    imgs = [np.random.default_rng(i).integers(0, 256, (200 + 20 * i, 300, 3), dtype=np.uint8) for i in range(3)]
    cpu = load_model("torchvision:resnet18", weights=str(w), num_classes=10)
    gpu = load_model("torchvision:resnet18", weights=str(w), num_classes=10, device="cuda")
    ref = cpu.predict([cpu.preprocess(im) for im in imgs])
    got = gpu.predict([gpu.preprocess(im) for im in imgs])
    for r, g in zip(ref, got):
        assert np.allclose(g, r, atol=1e-3, rtol=1e-3) and int(np.argmax(g)) == int(np.argmax(r))
