"""Tiny randomly initialised transformers models built from configs and saved to a directory.

Nothing is downloaded: every tokenizer, processor and config is written here. Each builds in well
under a second on a CPU; the weights are random, so tests compare the adapter with the same model
called directly, never with expected words.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def build_wav2vec2(d: Path) -> Path:
    import torch
    import transformers as T

    torch.manual_seed(0)
    d.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz'")}}
    (d / "vocab.json").write_text(json.dumps(vocab))
    tok = T.Wav2Vec2CTCTokenizer(str(d / "vocab.json"), unk_token="<unk>", pad_token="<pad>",
                                 word_delimiter_token="|")
    fe = T.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                    return_attention_mask=True)
    cfg = T.Wav2Vec2Config(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=32, conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 4),
                           num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2, pad_token_id=0)
    T.Wav2Vec2ForCTC(cfg).save_pretrained(d)
    T.Wav2Vec2Processor(feature_extractor=fe, tokenizer=tok).save_pretrained(d)
    return d


def build_whisper(d: Path) -> Path:
    """Whisper with a 1 s window (8 mel bins, 100 frames), a character vocabulary and its special tokens."""
    import torch
    import transformers as T

    torch.manual_seed(5)
    d.mkdir(parents=True, exist_ok=True)
    (d / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyzĠ")}))
    (d / "merges.txt").write_text("#version: 0.2\n")
    eot = "<|endoftext|>"
    tok = T.WhisperTokenizer(str(d / "vocab.json"), str(d / "merges.txt"), unk_token=eot, bos_token=eot,
                             eos_token=eot, pad_token=eot)
    specials = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>", "<|startoflm|>",
                "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]
    tok.add_special_tokens({"additional_special_tokens": specials})
    ids = {s: tok.convert_tokens_to_ids(s) for s in [eot, *specials]}
    fe = T.WhisperFeatureExtractor(feature_size=8, sampling_rate=16000, hop_length=160, chunk_length=1, n_fft=64)
    cfg = T.WhisperConfig(vocab_size=len(tok), num_mel_bins=8, d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                          max_source_positions=50, max_target_positions=32, pad_token_id=ids[eot],
                          bos_token_id=ids[eot], eos_token_id=ids[eot],
                          decoder_start_token_id=ids["<|startoftranscript|>"])
    m = T.WhisperForConditionalGeneration(cfg)
    gc = m.generation_config
    gc.decoder_start_token_id = ids["<|startoftranscript|>"]
    gc.no_timestamps_token_id = ids["<|notimestamps|>"]
    gc.lang_to_id = {"<|en|>": ids["<|en|>"]}
    gc.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    gc.is_multilingual = True
    gc.max_length = 12
    gc.begin_suppress_tokens, gc.suppress_tokens = [], []
    m.save_pretrained(d)
    T.WhisperProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(d)
    return d


LABELS = {0: "cat", 1: "dog", 2: "fish"}


def build_vit(d: Path) -> Path:
    import torch
    import transformers as T

    torch.manual_seed(1)
    cfg = T.ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    T.ViTForImageClassification(cfg).save_pretrained(d)
    T.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(d)
    return d


def build_yolos(d: Path) -> Path:
    import torch
    import transformers as T

    torch.manual_seed(2)
    cfg = T.YolosConfig(image_size=[32, 32], patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_detection_tokens=5, num_labels=3, id2label=LABELS,
                        label2id={v: k for k, v in LABELS.items()})
    T.YolosForObjectDetection(cfg).save_pretrained(d)
    T.YolosImageProcessor(size={"shortest_edge": 32, "longest_edge": 32}).save_pretrained(d)
    return d


def build_segformer(d: Path) -> Path:
    import torch
    import transformers as T

    torch.manual_seed(3)
    cfg = T.SegformerConfig(num_channels=3, num_encoder_blocks=1, depths=[1], sr_ratios=[1], hidden_sizes=[8],
                            patch_sizes=[7], strides=[4], num_attention_heads=[1], mlp_ratios=[2],
                            decoder_hidden_size=8, num_labels=4)
    T.SegformerForSemanticSegmentation(cfg).save_pretrained(d)
    T.SegformerImageProcessor(size={"height": 32, "width": 32}).save_pretrained(d)
    return d


def _tiny_swin(T):  # noqa: N803 - the transformers module, as the builders call it
    """The 1-block-per-stage Swin backbone both instance segmentation models use."""
    return T.SwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                        window_size=2, out_features=["stage1", "stage2", "stage3", "stage4"])


def build_mask2former(d: Path) -> Path:
    """Mask2Former (universal segmentation) on a 1-block-per-stage Swin: ~115k parameters, 6 queries.

    The hidden sizes are 32 because the pixel decoder's GroupNorm has 32 groups."""
    import torch
    import transformers as T

    torch.manual_seed(6)
    bb = _tiny_swin(T)
    cfg = T.Mask2FormerConfig(backbone_config=bb, feature_size=32, mask_feature_size=32, hidden_dim=32,
                              encoder_feedforward_dim=32, dim_feedforward=32, encoder_layers=1, decoder_layers=2,
                              num_attention_heads=2, num_queries=6, num_labels=3, id2label=LABELS,
                              label2id={v: k for k, v in LABELS.items()})
    T.Mask2FormerForUniversalSegmentation(cfg).save_pretrained(d)
    T.Mask2FormerImageProcessor(size={"shortest_edge": 32, "longest_edge": 64}).save_pretrained(d)
    return d


def build_maskformer(d: Path) -> Path:
    """MaskFormer (instance segmentation): the same tiny Swin, a 1+1-layer DETR decoder, 6 queries."""
    import torch
    import transformers as T

    torch.manual_seed(8)
    bb = _tiny_swin(T)
    dec = T.DetrConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=6)
    cfg = T.MaskFormerConfig(backbone_config=bb, decoder_config=dec, fpn_feature_size=32, mask_feature_size=32,
                             num_queries=6, num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    T.MaskFormerForInstanceSegmentation(cfg).save_pretrained(d)
    T.MaskFormerImageProcessor(size={"shortest_edge": 32, "longest_edge": 64}).save_pretrained(d)
    return d


CHAT_TEMPLATE = ("{% for m in messages %}{{ m['role'].upper() + ': ' }}{% for c in m['content'] %}"
                 "{% if c['type'] == 'image' %}{{ '<image> ' }}{% else %}{{ c['text'] + ' ' }}{% endif %}"
                 "{% endfor %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT: ' }}{% endif %}")
VLM_WORDS = ["<pad>", "<unk>", "<s>", "</s>", "<image>", "A", "B", "C", "D", "the", "answer", "is", "which",
             "word", "USER:", "ASSISTANT:", "SYSTEM:"] + [f"w{i}" for i in range(40)]


def build_llava(d: Path) -> Path:
    """LLaVA: a 2-layer CLIP vision tower, a 1-layer Llama, a word-level tokenizer and a chat template."""
    import torch
    import transformers as T
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    torch.manual_seed(4)
    vocab = {w: i for i, w in enumerate(VLM_WORDS)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece(prefix="##")
    tok = T.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                    eos_token="</s>", extra_special_tokens={"image_token": "<image>"})
    ip = T.CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    proc = T.LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
                            chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1)
    vc = T.CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                            image_size=16, patch_size=8, projection_dim=16)
    tc = T.LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, pad_token_id=0, bos_token_id=2, eos_token_id=3,
                       max_position_embeddings=256)
    cfg = T.LlavaConfig(vision_config=vc, text_config=tc, image_token_id=4, vision_feature_layer=-1)
    T.LlavaForConditionalGeneration(cfg).save_pretrained(d)
    proc.save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tiny model, built once per session (skips when torch or transformers is absent)."""
    pytest.importorskip("torch", reason="hf: tests need torch (pip install 'gapbench[hf]')")
    pytest.importorskip("transformers", reason="hf: tests need transformers (pip install 'gapbench[hf]')")
    root = tmp_path_factory.mktemp("tiny_hf")
    return {"wav2vec2": build_wav2vec2(root / "wav2vec2"), "whisper": build_whisper(root / "whisper"), "vit": build_vit(root / "vit"),
            "yolos": build_yolos(root / "yolos"), "segformer": build_segformer(root / "segformer"),
            "llava": build_llava(root / "llava"), "mask2former": build_mask2former(root / "mask2former"),
            "maskformer": build_maskformer(root / "maskformer")}
