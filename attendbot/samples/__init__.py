"""Synthetic input files: the demo's inbox and the tests' fixtures are drawn by the same code."""
