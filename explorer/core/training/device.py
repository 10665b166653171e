"""Which torch device a run uses, and the fallback to CPU when the asked-for one is absent.

A preset written on a workstation with a GPU must still run on a laptop: an absent or
failing device is never an error, only a note the user is shown.
"""

from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """The devices this machine has, CPU first, for the window's device list."""
    out = ["cpu"]
    try:
        if torch.cuda.is_available():
            out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver counts as no GPU
        pass
    try:
        if torch.backends.mps.is_available():
            out.append("mps")
    except Exception:
        pass
    return out


def resolve_device(name: str) -> tuple[torch.device, str | None]:
    """(device to use, note for the user or None). Probes the device with a tiny op."""
    have = available_devices()
    if name == "auto":
        wanted = next((d for d in have if d != "cpu"), "cpu")
    elif name == "cuda":
        wanted = "cuda:0"
    else:
        wanted = name
    if wanted == "cpu":
        return torch.device("cpu"), None
    if wanted not in have:
        return torch.device("cpu"), f"device {name!r} is not available on this machine; using CPU"
    try:
        dev = torch.device(wanted)
        (torch.ones(2, device=dev) * 2).sum().cpu()
        return dev, None
    except Exception as e:  # driver failure, out of memory at start...
        return torch.device("cpu"), f"device {wanted!r} failed ({type(e).__name__}: {e}); using CPU"
