"""Option log-likelihood scoring through the one hf: adapter, checked against a direct forward pass
of the same tiny random LLaVA (built from a config by the hf tests' builder)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="hf: tests need torch (pip install 'gapbench[hf]')")
T = pytest.importorskip("transformers", reason="hf: tests need transformers (pip install 'gapbench[hf]')")


@pytest.fixture(scope="module")
def llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("hf_tiny_models", Path(__file__).parents[1] / "models" / "conftest.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_llava(tmp_path_factory.mktemp("llava"))


def _message(seed: int = 0):
    from gapbench.spectro.dataset import SpectroMessage

    im = np.random.default_rng(seed).integers(0, 256, size=(20, 36, 3), dtype=np.uint8)
    return SpectroMessage("which word is the answer A B C D", (im,), options=("w1", "w2", "w3", "w4"),
                          choices=("w1", "w2 w3", "the answer is", "A"), labels="ABCD")


def _direct(path: Path, msg) -> list[tuple[float, int]]:
    """Reference: the model called directly, each option's log-probability from cross-entropy."""
    from PIL import Image

    model = T.LlavaForConditionalGeneration.from_pretrained(path).eval()
    proc = T.AutoProcessor.from_pretrained(path)
    feats = proc(images=[Image.fromarray(msg.images[0])], text=[f"USER: <image> {msg.text} ASSISTANT: "],
                 return_tensors="pt")
    out = []
    for choice in msg.choices:
        opt = torch.tensor([proc.tokenizer.convert_tokens_to_ids(choice.split())])
        ids = torch.cat([feats["input_ids"], opt], dim=1)
        with torch.no_grad():
            logits = model(input_ids=ids, pixel_values=feats["pixel_values"]).logits[0]
        p = feats["input_ids"].shape[1]
        nll = torch.nn.functional.cross_entropy(logits[p - 1:-1], ids[0, p:], reduction="sum")
        out.append((-float(nll), opt.shape[1]))
    return out


def test_option_logliks_match_a_direct_forward_pass(llava: Path) -> None:
    from gapbench.models.registry import load_model

    msg = _message()
    ref = _direct(llava, msg)
    view = load_model("hf:" + str(llava), scoring="loglik").for_task("spectrogram-mcq")
    got = view.option_logliks(msg)
    assert [n for _, n in got] == [1, 2, 3, 1]
    assert np.allclose([s for s, _ in got], [s for s, _ in ref], atol=1e-4)
    assert all(s < 0 for s, _ in got)
    for norm in ("mean", "sum"):
        v = load_model("hf:" + str(llava), scoring="loglik", loglik_norm=norm).for_task("spectrogram-mcq")
        key = [s / n if norm == "mean" else s for s, n in ref]
        assert v.predict([msg]) == ["ABCD"[int(np.argmax(key))]]
        assert v.last_logliks and np.allclose(v.last_logliks[0], got, atol=1e-4)


def test_loglik_option_errors(llava: Path) -> None:
    from gapbench.core.media import ChatMessage
    from gapbench.errors import InputError, ModelError
    from gapbench.models.registry import load_model

    with pytest.raises(InputError, match="scoring"):
        load_model("hf:" + str(llava), scoring="bogus").for_task("spectrogram-mcq")
    with pytest.raises(InputError, match="loglik_norm"):
        load_model("hf:" + str(llava), scoring="loglik", loglik_norm="max").for_task("spectrogram-mcq")
    view = load_model("hf:" + str(llava), scoring="loglik").for_task("spectrogram-mcq")
    with pytest.raises(ModelError, match="choices"):
        view.predict([ChatMessage("which word", (np.zeros((8, 8, 3), np.uint8),))])


@pytest.mark.slow
def test_spectro_eval_with_loglik_scoring(llava: Path, paper_build: Path) -> None:
    from gapbench.spectro.dataset import spectro_samples
    from gapbench.spectro.eval import evaluate

    sample = spectro_samples(str(paper_build), "phonemic-spec")[0]
    shown = [ln[3:] for ln in sample.input.text.split("\n") if ln[:2] in ("A.", "B.", "C.", "D.")]
    assert list(sample.input.choices) == shown and all(c.startswith("/") and c.endswith("/") for c in shown)
    doc, _ = evaluate(paper_build, ["hf:" + str(llava), "baseline:blind"], conditions=["graphemic-spec"], limit=4,
                      scoring="loglik", show_progress=False, cache=False)
    hf = next(r for r in doc["results"] if r["model"].startswith("hf:"))
    assert hf["scoring"] == "loglik" and hf["n"] == 4 and hf["n_skipped"] == 0
    assert hf["metrics"]["unparseable"]["value"] == 0  # a label every time, never free text
    assert next(r for r in doc["results"] if r["model"] == "baseline:blind")["scoring"] == "generate"
    with pytest.raises(ValueError, match="loglik needs local hf"):
        evaluate(paper_build, ["openai:some-vlm"], scoring="loglik", show_progress=False)
