"""`score-explorer shoot`: the window as a lecturer's screen shows it, as a PNG and as numbers.

The window is built on an offscreen screen of the size asked for (Qt's offscreen platform
with a one-screen config, so that "maximised" and "full screen" mean that size, as on a
720p projector), trained and sampled if asked, and grabbed. Beside the PNG, a JSON says
where each plot's data area landed, the smallest text on screen and what is cut
(gui/shoot_measure.py): stills for slides and docs, and the figures the layout tests assert.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

USAGE = ("score-explorer shoot PRESET --size WxH [--presenter] [--settings open|closed] "
         "[--compare KEY=V1,V2,...] [--train N] [--sample] --out FILE.png [--layout FILE.json]")
TIMEOUT_S = 900.0   # training plus sampling may not take longer than this


class ShootError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ShootError(message)


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="score-explorer shoot", usage=USAGE,
                 description="Render the window offscreen as it appears maximised on a WxH "
                             "screen, write it as a PNG and what it shows as JSON.")
    ap.add_argument("preset", help="preset file (.toml), a shipped preset's name, or "
                    "default (the preset the window opens with)")
    ap.add_argument("--size", required=True, help="screen size, e.g. 1280x720")
    ap.add_argument("--presenter", action="store_true", help="presenter mode (F11)")
    ap.add_argument("--settings", choices=("open", "closed"), default="open",
                    help="the settings drawer open (default) or closed")
    ap.add_argument("--compare", metavar="KEY=V1,V2,...",
                    help="compare mode: one variant per value (e.g. objective.kind=esm,ism,ssm_vr,dsm)")
    ap.add_argument("--train", type=int, default=0, metavar="N", help="train N steps first")
    ap.add_argument("--sample", action="store_true", help="sample to the end after training")
    ap.add_argument("--out", required=True, help="the PNG to write")
    ap.add_argument("--layout", help="the JSON to write (window, views, min_font_px, clipped)")
    return ap


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not m:
        raise ShootError(f"--size: expected WxH such as 1280x720, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (640 <= w <= 7680 and 480 <= h <= 4320):
        raise ShootError(f"--size: {w}x{h} is outside 640x480 .. 7680x4320")
    return w, h


def check_args(args) -> dict:
    """Everything about the input that can be wrong, before Qt is started (the options
    first: the preset's checks import torch, which takes seconds)."""
    size = parse_size(args.size)
    if args.train < 0:
        raise ShootError(f"--train: expected a number of steps >= 0, got {args.train}")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ShootError(f"--out {args.out}: expected a .png file")
    if args.layout is not None and Path(args.layout).suffix.lower() != ".json":
        raise ShootError(f"--layout {args.layout}: expected a .json file")
    for f in [out] + ([Path(args.layout)] if args.layout else []):
        folder = f.parent if str(f.parent) else Path(".")
        if not folder.is_dir():
            raise ShootError(f"{f}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise ShootError(f"{f}: the folder {folder} is not writable")
    from ..core.presets import preset as P
    from ..core.compare.plan import parse_vary
    from ..core.errors import SpecError
    from ..core.presets.shipped import resolve
    path = None if args.preset == "default" else resolve(args.preset)
    try:
        if path is not None:
            P.load(path).build_density()
        vary = parse_vary(args.compare) if args.compare else None
    except SpecError as e:
        raise ShootError(str(e)) from None
    if vary is not None and len(vary.values) > 8:
        raise ShootError(f"--compare {vary.key}: at most 8 values, got {len(vary.values)}")
    return {"size": size, "path": path, "vary": vary}


def _screen_config(w: int, h: int, folder: str) -> str:
    path = os.path.join(folder, "screen.json")
    with open(path, "w") as f:
        json.dump({"synchronousWindowSystemEvents": True, "windowFrameMargins": False,
                   "screens": [{"name": "shoot", "x": 0, "y": 0, "width": w, "height": h,
                                "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}, f)
    return path


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
        checked = check_args(args)
    except ShootError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="shoot-") as tmp:
        w, h = checked["size"]
        # the screen is fixed when Qt starts: this process's Qt must not have started yet
        os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen_config(w, h, tmp)}"
        os.environ["SCORE_EXPLORER_SETTINGS"] = os.path.join(tmp, "settings.ini")
        layout = shoot(checked["path"], (w, h), presenter=args.presenter,
                       settings_open=args.settings == "open", vary=checked["vary"],
                       train=args.train, sample=args.sample, out=args.out)
    text = json.dumps(layout, indent=1)
    if args.layout:
        _write_atomic(Path(args.layout), text.encode())
    small = layout["min_font_px"]
    print(f"{args.out}: window {layout['window'][0]}x{layout['window'][1]}, "
          f"{len(layout['views'])} plots, smallest text {small} px, "
          f"{len(layout['clipped'])} clipped")
    for c in layout["clipped"]:
        print(f"  clipped: {c}")
    return 0


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- driving the window
def _wait(app, done, timeout: float, what: str) -> None:
    t0 = time.time()
    while not done():
        if time.time() - t0 > timeout:
            raise RuntimeError(f"shoot: {what} did not finish within {timeout:.0f} s")
        app.processEvents()
        time.sleep(0.01)


def _settle(app, seconds: float = 0.4) -> None:
    t0 = time.time()
    while time.time() - t0 < seconds:
        app.processEvents()
        time.sleep(0.01)


def _train_and_sample(app, w, steps: int, sample: bool) -> None:
    s = w.session
    # no more than the preset trains: a preset with the exact score trains 0 steps, and
    # waiting for 200 of them ran into the time-out
    steps = min(steps, int(w.preset.training.get("steps", 0) or 0))
    if steps > 0:
        w.run_bar.step_count.setValue(steps)
        w.step_training()
        _wait(app, lambda: s.trainer.step_count >= steps and not s.playing, TIMEOUT_S, "training")
        # the window draws the last snapshot itself (taking it here would steal it)
        _wait(app, lambda: w.run_bar.progress.value() >= steps, 30, "drawing the trained state")
        _settle(app)
    if sample:
        w.run_bar.start_sampling()
        run = s.sampling
        if run is not None:
            total = max(1, int(run.sampler.total))
            s.set_sampling_speed(max(5, math.ceil(total / 60)))   # about 2 s of frames
        _wait(app, lambda: s.sampling is None or s.sampling.sampler.done
              or not s.sampling_playing, TIMEOUT_S, "sampling")
        _wait(app, lambda: w.views._quality is not None or w.preset.dim == 3, 30,
              "the sample-quality readout")
        _settle(app)


def _compare(app, w, vary, steps: int, sample: bool, size):
    cw = w.open_compare()
    for value in vary.values:   # named as the window names them (ISM, sigma=0.5, ...)
        cw.lab.add({vary.key: value}, seeds=1)
    if steps > 0:
        cw.lab.set_budget("steps", steps)
        cw.toggle_play()
        _wait(app, lambda: cw.lab.finished, TIMEOUT_S, "training the variants")
    if sample:
        cw.sample_all()
        _wait(app, lambda: all(cw.lab.particles(v) is not None for v in cw.lab.variants)
              and not any(s.sampling_playing for v in cw.lab.variants for s in v.sessions),
              TIMEOUT_S, "sampling the variants")
    cw.showMaximized()
    cw.resize(*size)
    _settle(app)
    cw.redraw()
    return cw


def plot_names(w) -> dict:
    """The main window's plots by the names the layout JSON gives them."""
    names = {}
    fv, pv, lv, nv = w.field_view, w.particles_view, w.loss_view, w.views.noise_view
    for attr, name in (("learned_plot", "field_learned"), ("true_plot", "field_true"),
                       ("overlay_plot", "field_overlay"), ("error_plot", "field_error"),
                       ("dens_learned_plot", "density_learned"), ("dens_true_plot", "density_true")):
        if fv is not None and getattr(fv, attr, None) is not None:
            names[getattr(fv, attr)] = name
    if pv is not None and getattr(pv, "plot", None) is not None:
        names[pv.plot] = "particles"
    for view, name in ((lv, "loss"), (nv, "noise_error")):
        plot = getattr(view, "plot", None)
        if plot is not None:
            names[plot] = name
    return names


def compare_plot_names(cw) -> dict:
    names = {cw.fisher_view.plot: "fisher", cw.loss_view.plot: "loss"}
    for plot, v in zip(cw.grid_view.plots, cw.lab.variants):
        names[plot] = "error_" + re.sub(r"[^0-9a-zA-Z]+", "_", v.name).strip("_").lower()
    return names


def shoot(path: str, size: tuple[int, int], presenter: bool = False, settings_open: bool = True,
          vary=None, train: int = 0, sample: bool = False, out: str = "shot.png") -> dict:
    """Build, drive and grab the window; returns the layout figures (shoot_measure.measure)."""
    import torch
    torch.set_num_threads(1)
    from ..views.application import make_app
    from .app import open_window
    from .shoot_measure import measure
    app = make_app()
    w = open_window(path)
    w.show()
    w.showMaximized()
    w.resize(*size)
    if hasattr(w, "set_settings_open"):
        w.set_settings_open(settings_open)
    if presenter:
        w.set_presenter(True)
    _settle(app)
    target = w
    try:
        if vary is not None:
            target = _compare(app, w, vary, train, sample, size)
        else:
            _train_and_sample(app, w, train, sample)
        _settle(app, 0.8)
        pixmap = target.grab()
        tmp = Path(out).with_name(f".{Path(out).name}.part.png")
        if not pixmap.save(str(tmp), "PNG"):
            raise RuntimeError(f"shoot: could not write {out}")
        os.replace(tmp, out)
        return measure(target, plot_names(w) if target is w else compare_plot_names(target))
    finally:
        if target is not w:
            target.close()
        w.close()
        app.processEvents()
