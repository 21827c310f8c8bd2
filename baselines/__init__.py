"""Baseline methods compared with the meta-learning method."""
