"""Score what you already have: the path-taking entry points behind ``gapbench.score`` and
``gapbench.compare`` (loaders from :mod:`gapbench.data`, metrics from :mod:`gapbench.metrics`)."""
