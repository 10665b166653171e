"""What every test shares: Qt offscreen, and the `quick` tier.

The quick tier (`python -m pytest -q -m quick`, under three minutes on two cores) is what to
run while working: the Qt-free core and the command line called in-process. A test is in it
when its file is one of QUICK_FILES and it is not marked slow, gl or promises, needs no window
(qtbot) and starts no Python of its own (subprocess): those stay in the whole suite, which
`.ci/run` runs.
"""

import inspect
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

QUICK_FILES = {
    "test_api.py", "test_api_arguments.py", "test_architecture.py", "test_captions.py", "test_defaults.py",
    "test_densities.py", "test_faults_commands.py", "test_faults_plugins.py",
    "test_fisher_level.py", "test_history.py", "test_hutchinson.py", "test_models.py",
    "test_noise_error.py", "test_objectives.py", "test_preset_edits.py",
    "test_preset_reference.py", "test_presets_contract.py", "test_quality_vs_nfe.py",
    "test_recipe.py", "test_run_folders.py", "test_sample_quality.py", "test_sampling.py",
    "test_session.py", "test_toy_densities.py", "test_trajectory.py",
}
NOT_QUICK_MARKS = {"slow", "gl", "promises"}


@pytest.fixture(autouse=True)
def _settings(tmp_path, monkeypatch):
    """Every test its own settings file: no window reads a developer's or another test's."""
    monkeypatch.setenv("SCORE_EXPLORER_SETTINGS", str(tmp_path / "settings.ini"))


@pytest.fixture(autouse=True)
def _garbage_in_the_gui_thread(request):
    """As in the app (gui/app.collect_garbage_in_gui_thread): once a Qt test runs, Python's
    cyclic garbage is collected only in the GUI thread, never in a worker thread where
    freeing a Qt wrapper deadlocks against it; after each test what is due is collected.

    The widgets a test gives qtbot are held until the test has ended and then deleted in
    C++ (children by their parents, the wrappers told), not left to the collector: a
    top-level widget whose last reference was the test's own variable became cyclic garbage
    while still alive, and a collection that freed its wrappers in the wrong order freed a
    child item twice (a segfault in the teardown's processEvents, twice in eight runs)."""
    kept = []
    if "qtbot" in request.fixturenames:
        if not _COLLECTOR:
            from explorer.gui.app import collect_garbage_in_gui_thread
            _COLLECTOR.append(collect_garbage_in_gui_thread())
        qtbot = request.getfixturevalue("qtbot")
        add = qtbot.addWidget

        def add_and_keep(widget, **kwargs):
            kept.append(widget)
            return add(widget, **kwargs)
        qtbot.addWidget = add_and_keep
    yield
    if kept:
        import shiboken6
        for widget in kept:
            if shiboken6.isValid(widget):
                widget.close()
                shiboken6.delete(widget)
        kept.clear()
    if _COLLECTOR:
        _COLLECTOR[-1].check()


_COLLECTOR: list = []


@pytest.fixture
def open_main_window(qtbot):
    """`open_main_window(source=None, size=(1280, 720))`: the main window as
    `score-explorer [source]` opens it (a preset file, a shipped preset's path, a run folder),
    shown at `size` (None: its own) and exposed; closed after the test."""
    opened = []

    def _open(source=None, size=(1280, 720)):
        from explorer.gui.app import make_app, open_window
        make_app()
        w = open_window(None if source is None else str(source))
        qtbot.addWidget(w)
        opened.append(w)
        if size is not None:
            w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        return w

    yield _open
    for w in opened:
        w.close()


@pytest.fixture
def cli_here(capsys):
    """`cli_here(*args)`: `score-explorer ARGS` run in this process (cli.main, as the console
    script calls it), returning what subprocess.run would (returncode, stdout, stderr): the
    refusals and error lines of the command line without starting a Python for each."""
    from types import SimpleNamespace

    def _run(*args):
        from explorer.cli import main
        capsys.readouterr()
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:          # argparse's own exits
            rc = e.code if isinstance(e.code, int) else 2
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)
    return _run


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests train as every trainer of the program does (core/training/threads.py): on one
    torch thread unless OMP_NUM_THREADS says otherwise. Torch's default of one thread per
    core, beside another test worker on a 2-core machine, trained 3-4x slower."""
    from explorer.core.training import threads
    threads.apply()
    yield


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker per core this process may use (not the host's count, which a
    container or taskset hides), at most eight: each worker holds torch and Qt (~0.5 GB)."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _starts_a_python(item) -> bool:
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError):
        return False
    return "subprocess" in source or "sys.executable" in source


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name not in QUICK_FILES:
            continue
        if NOT_QUICK_MARKS & {m.name for m in item.iter_markers()}:
            continue
        if "qtbot" in getattr(item, "fixturenames", ()) or _starts_a_python(item):
            continue
        item.add_marker(pytest.mark.quick)
