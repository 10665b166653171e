"""A small, fast preset the CLI and window tests share: a 2-D mixture, a 32x32 network."""

import tomli_w


def small_preset(name="small", steps=150, particles=300, sampler_steps=50, grid=12, **sampler):
    """TOML text; extra keyword arguments go into [sampler]."""
    return tomli_w.dumps({
        "name": name,
        "density": {"kind": "mixture", "weights": [0.3, 0.7], "means": [[-2.0, 0.0], [2.0, 1.0]],
                    "stds": [0.5, 0.7]},
        "model": {"hidden": [32, 32]},
        "objective": {"kind": "ssm_vr"},
        "training": {"steps": steps, "batch_size": 128},
        "sampler": {"particles": particles, "steps": sampler_steps, **sampler},
        "view": {"grid": grid},
    })
