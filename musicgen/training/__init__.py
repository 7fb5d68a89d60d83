"""Training: the Lightning module, its callbacks, checkpoint I/O and the run loggers."""
