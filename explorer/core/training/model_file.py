"""model.safetensors: the weights a run leaves, and reading them back without unpickling.

Why: the file should hold what sampling uses. With training.ema > 0 that is the moving
average of the weights (Trainer.model), not the last optimiser iterate (Trainer.net): the
header says which (`weights`), and carries the architecture (`model_config`, JSON of
ScoreModel.config(): preconditioning, sigma_data, noise embedding, SDE, ...) so that
`load_model` rebuilds the exact network from the file alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch


def file_metadata(trainer) -> dict[str, str]:
    """Header entries describing the saved weights of `trainer` (strings, as safetensors wants)."""
    decay = float(trainer.preset.training.get("ema", 0.0))
    return {"model_config": json.dumps(trainer.model.config()),
            "weights": f"ema {decay:g}" if trainer.ema is not None else "trained"}


def state_of(trainer) -> dict[str, torch.Tensor]:
    """The tensors to save: the sampling model's (the average when there is one)."""
    return {k: v.detach().cpu().contiguous() for k, v in trainer.model.state_dict().items()}


def load_model(path, device="cpu"):
    """(ScoreModel with the saved weights, header dict). Raises ValueError naming the file when
    the header has no model_config (a file from before it was written)."""
    from safetensors import safe_open
    from ..models import ScoreModel
    path = Path(path)
    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = dict(f.metadata() or {})
        state = {k: f.get_tensor(k) for k in f.keys()}
    if "model_config" not in meta:
        raise ValueError(f"{path}: no model_config in its header; rebuild the model from its preset")
    model = ScoreModel(**json.loads(meta["model_config"]))
    model.load_state_dict(state)
    return model.to(device).eval(), meta
