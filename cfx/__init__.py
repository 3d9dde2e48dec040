"""cfx: a simulator of a futures exchange for GPU compute."""

__version__ = "0.1.0"
