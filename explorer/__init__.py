"""score-explorer: learn score-based generative models by seeing them."""

__version__ = "0.1.0"
