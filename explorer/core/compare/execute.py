"""Running the runs: a local process pool, or the workers of an existing Dask cluster.

Both run the same task function, `run_task`, on one torch thread (core/training/threads.py), so the
same seeds give the same numbers wherever they run. A task is self-contained: the resolved
preset as a TOML table plus the bytes of its data file (image, points), if any. It trains and
samples with `run.train_and_sample`, writes the files of `score-explorer run` with
`run.write_outputs` into a temporary folder on the worker, and sends them back as bytes with
the metrics and the Fisher curve. The client writes them: a cluster needs no shared
filesystem, and a run's folder appears whole (written under a temporary name, then renamed)
only once its run has finished.

Ctrl-C: the local pool's workers ignore SIGINT (the terminal sends it to the whole process
group); the client sets a shared stop flag, drops the runs not started, and waits for the
running ones, which stop within one evaluation interval (a run already sampling finishes and
is kept). On Dask the runs not yet finished are cancelled.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import OutputError, SpecError
from ..files import new_file_mode
from .scheduler_address import CLUSTER_HINT, check_address, probe_scheduler
from .plan import Run



@dataclass
class Finished:
    run: Run
    metrics: dict
    fisher: list[tuple[int, float]]   # (step, Fisher divergence), as in loss.csv


@dataclass
class Outcome:
    finished: list[Finished] = field(default_factory=list)
    failed: list[tuple[Run, str]] = field(default_factory=list)
    interrupted: bool = False


# --- the task: what a worker runs --------------------------------------------------------------

_STOP = None   # the local pool's shared stop flag (a multiprocessing Event), set by _init_worker


def task_of(run: Run) -> dict:
    """What travels to a worker: plain data, the data file included."""
    p = run.preset
    data_files = {}
    if "path" in p.density:
        src = (p.base_dir / p.density["path"]).resolve()
        data_files[src.name] = src.read_bytes()
        p = p.copy()
        p.density["path"] = src.name
    return {"preset": p.to_dict(), "data_files": data_files}


def run_task(task: dict) -> dict:
    """Train and sample one run; return its metrics, Fisher curve and files (name -> bytes)."""
    from ..presets import preset as P
    from ..training import threads
    from ..run.headless import train_and_sample, write_outputs

    _warm_up()
    stop = _stopped if _STOP is not None else None
    with tempfile.TemporaryDirectory(prefix="score-explorer-") as tmp:
        tmp = Path(tmp)
        for name, data in task["data_files"].items():
            (tmp / name).write_bytes(data)
        preset = P.parse(task["preset"], tmp)
        result = train_and_sample(preset, stop=stop, threads=threads.choose())
        if result.interrupted:
            return {"interrupted": True}
        out = tmp / "run"
        write_outputs(result, preset, out)
        files = {f.name: f.read_bytes() for f in sorted(out.iterdir()) if f.is_file()}
    return {"interrupted": False, "metrics": result.metrics,
            "fisher": sorted(result.fisher_rows.items()), "files": files}


_WARM = False


def _warm_up() -> None:
    """torch.optim's first step imports torch._dynamo (seconds, more on a busy machine): pay
    it once per worker before a run's clock starts, or the first run on every worker would
    report a fraction of its steps/s."""
    global _WARM
    if not _WARM:
        import torch

        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.Adam([p])
        p.sum().backward()
        opt.step()
        _WARM = True


def _init_worker(stop) -> None:
    global _STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM to the whole group (a terminal closing, a job scheduler): stop like the parent
    # does, at the next evaluation, so the parent still collects what finished
    signal.signal(signal.SIGTERM, _on_sigterm)
    _STOP = stop
    _exit_with_parent()


_TERMINATED = False


def _on_sigterm(signum, frame) -> None:
    global _TERMINATED   # a flag, not stop.set(): that takes a lock the main thread may hold
    _TERMINATED = True


def _stopped() -> bool:
    return _TERMINATED or (_STOP is not None and _STOP.is_set())


def _exit_with_parent() -> None:
    """End this worker when the parent process ends, however it ended (SIGKILL included): a
    pool worker otherwise waits on its task queue forever, and holds the resource tracker
    open. The parent's sentinel is a pipe that closes when the parent dies."""
    import os
    import threading
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# --- the client's side -------------------------------------------------------------------------

def write_run(out: Path, run: Run, files: dict[str, bytes]) -> Path:
    """The run's folder, whole or not at all: filled in a fresh private folder beside it
    (mkdtemp: nothing planted there is followed), then renamed. A write that fails (a full
    disk) is an OutputError naming the file, and leaves neither the half-written folder nor
    an empty variant folder behind."""
    final = out / run.folder
    made = [p for p in reversed(final.parents) if out in p.parents and not p.exists()]
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    except OSError as e:
        raise OutputError(final.parent, e) from None
    try:
        for name, data in files.items():
            target = tmp / name
            try:
                target.write_bytes(data)
                os.chmod(target, new_file_mode())
            except OSError as e:
                raise OutputError(final / name, e) from None
        try:
            os.chmod(tmp, 0o777 & ~_umask())
            if final.exists():   # a folder of an earlier comparison with the same name
                shutil.rmtree(final)
            tmp.rename(final)
        except OSError as e:
            raise OutputError(final, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(made):   # the variant folder this run made, if still empty
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _umask() -> int:
    return 0o666 & ~new_file_mode()


Done = Callable[[Finished], None]


def execute(runs: list[Run], out: Path, *, workers: int, client=None,
            on_finished: Done | None = None, on_failed: Callable[[Run, str], None] | None = None
            ) -> Outcome:
    """Run everything on a local pool of `workers` processes, or on `client`'s Dask cluster;
    write each finished run's folder as it arrives. Ctrl-C ends it early (`interrupted`)."""
    outcome = Outcome()

    def take(run: Run, result: dict | None, error: BaseException | None) -> None:
        # a Ctrl-C while a run's folder is written waits until it is written and counted: it
        # came between writing the folder and counting it, and the summary missed a kept run
        with shielded() as held:
            record(run, result, error)
        if held.interrupted:
            raise KeyboardInterrupt

    def record(run: Run, result: dict | None, error: BaseException | None) -> None:
        if error is not None:
            why = f"{type(error).__name__}: {error}"
            outcome.failed.append((run, why))
            if on_failed:
                on_failed(run, why)
            return
        if result["interrupted"]:
            return
        write_run(out, run, result["files"])
        done = Finished(run, result["metrics"], [tuple(r) for r in result["fisher"]])
        outcome.finished.append(done)
        if on_finished:
            on_finished(done)

    order = {id(r): i for i, r in enumerate(runs)}
    if client is None:
        _local(runs, workers, take, outcome)
    else:
        _dask(runs, client, take, outcome)
    outcome.finished.sort(key=lambda f: order[id(f.run)])
    return outcome


def _local(runs: list[Run], workers: int, take, outcome: Outcome) -> None:
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    # Workers start ignoring SIGINT (they inherit it from here), so that a Ctrl-C while one
    # is still importing torch does not print its traceback; the parent's handler comes back.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                   initializer=_init_worker, initargs=(stop,))
        futures = {pool.submit(run_task, task_of(r)): r for r in runs}
    finally:
        signal.signal(signal.SIGINT, previous)
    pending = set(futures)
    try:
        try:
            for f in as_completed(futures):
                pending.discard(f)
                _take_future(f, futures[f], take)
        except KeyboardInterrupt:
            outcome.interrupted = True
            stop.set()
            for f in pending:
                f.cancel()
            try:   # the running ones stop at their next evaluation, or finish sampling
                for f in as_completed(pending):
                    if not f.cancelled():
                        _take_future(f, futures[f], take)
            except KeyboardInterrupt:   # a second Ctrl-C: stop them now, keep the finished
                _terminate(pool)
        except BaseException:   # a result that could not be written: stop the others too
            stop.set()
            for f in pending:
                f.cancel()
            raise
    finally:
        with shielded():   # a Ctrl-C now would leave workers running: finish joining them
            pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool) -> None:
    for p in list(getattr(pool, "_processes", {}).values()):
        try:
            p.terminate()
        except (OSError, AttributeError):
            pass


class shielded:
    """Ctrl-C is held off (recorded in `.interrupted`) inside: for joining workers and writing
    the summary, which a second Ctrl-C must not cut short. Outside the main thread, nothing."""

    def __init__(self):
        self.interrupted = False
        self.previous = None

    def __enter__(self):
        def on_sigint(signum, frame):
            self.interrupted = True
        try:
            self.previous = signal.signal(signal.SIGINT, on_sigint)
        except ValueError:
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _take_future(f, run: Run, take) -> None:
    try:
        result = f.result()
    except Exception as e:   # the run failed (diverged, a worker died): the others go on
        take(run, None, e)
        return
    take(run, result, None)


def connect(address: str):
    """A Dask client for an existing scheduler; SpecError when dask is absent or it is not there."""
    try:
        from distributed import Client
    except ImportError:
        raise SpecError("", CLUSTER_HINT) from None
    address = check_address(address)
    probe_scheduler(address)
    try:
        return Client(address, timeout="10s")
    except Exception as e:  # noqa: BLE001 - whatever Dask raises, it is this address's fault
        raise SpecError("--scheduler", f"cannot use {address}: {type(e).__name__}: {e}") from None


def _dask(runs: list[Run], client, take, outcome: Outcome) -> None:
    from distributed import as_completed as dask_completed

    # pure=False: a fresh key per submission, never an earlier comparison's cached result
    futures = {client.submit(run_task, task_of(r), pure=False): r for r in runs}
    pending = set(futures)
    try:
        for f in dask_completed(list(futures)):
            pending.discard(f)
            try:
                result = f.result()
            except Exception as e:
                take(futures[f], None, e)
                continue
            take(futures[f], result, None)
    except KeyboardInterrupt:
        outcome.interrupted = True
        client.cancel(list(pending))


def describe(client: Any) -> str:
    try:
        return f"{len(client.scheduler_info()['workers'])} Dask workers at {client.scheduler.address}"
    except Exception:
        return "a Dask cluster"
