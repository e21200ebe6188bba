"""Speech synthesis and the embedded spoken corpus.

``gapbench.speech.tts``: the one espeak-ng source (``espeakng-loader``, called through ctypes) for
everything gapbench synthesises; ``gapbench.speech.corpus``: the embedded digits, words,
sentences and meetings built from it and cached on disk.
"""
