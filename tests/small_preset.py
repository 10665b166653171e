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


def shipped(name: str, **sections):
    """A shipped preset (explorer/presets/NAME.toml) with some keys of its sections replaced,
    e.g. shipped("vp_sde_pc", sampler={"particles": 64}), parsed again so derived keys follow."""
    from pathlib import Path
    from explorer.core.presets import preset as P
    p = P.load(Path(__file__).resolve().parents[1] / "explorer" / "presets" / f"{name}.toml")
    d = p.to_dict()
    for sec, values in sections.items():
        d[sec].update(values)
    return P.parse(d, p.base_dir, p.source)
