"""Evaluation: likelihood of a split, and samples scored with the musical metrics."""
