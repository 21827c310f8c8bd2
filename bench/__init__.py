"""Few-shot NLP benchmark and reproducibility suite."""

__version__ = "0.1.0"
