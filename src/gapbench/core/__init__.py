"""The vocabulary shared by every part of gapbench: samples, predictions, results, registries."""
