"""Transcript normalisers applied before WER/CER: their names here (cheap to import), the
implementations in :mod:`.normalizers` (which vendors openai-whisper's English normaliser)."""

NORMALIZER_NAMES: tuple[str, ...] = ("none", "basic", "whisper")
