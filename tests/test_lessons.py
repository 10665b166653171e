"""Lessons (explorer/lessons, core/lessons): every shipped lesson plays headless, so none
rots; a bad lesson file is one error naming the file and key; `score-explorer lesson`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from explorer.core.errors import SpecError
from explorer.core.lessons import catalog, load, loads
from explorer.core.lessons.runner import run_lesson
from explorer.core.lessons.text import to_html, to_plain

# The suite plays every lesson with its training cut to 1% (at least 1 step a train action)
# and at most 300 particles; loading each lesson has checked its real counts already.
SCALE = 0.01
MAX_PARTICLES = 300
LESSONS = catalog.shipped_lessons()


def test_at_least_twelve_lessons_in_course_order():
    names = catalog.names()
    assert len(names) >= 12
    order = __import__("tomllib").loads((catalog.lessons_folder() / "course.toml").read_text())["order"]
    assert names == order        # every lesson file is in the course order, once
    assert names[0] == "score_of_a_mixture" and names.index("langevin") < names.index("ncsn")


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_plays_headless(path):
    lesson = load(path)
    assert lesson.title and all(s.text.strip() for s in lesson.steps)
    results = run_lesson(lesson, scale=SCALE, max_particles=MAX_PARTICLES)
    assert [r.number for r in results] == list(range(1, len(lesson.steps) + 1))
    for step, r in zip(lesson.steps, results):
        if step.sample is not None:
            assert r.sampled == (step.sample if step.sample is not True else r.sampled) and r.sampled > 0
        if step.train and not step.variants:
            assert r.steps_trained >= 1 and r.relative_fisher is not None
        if step.variants:
            assert len(r.variants) == len(step.variants) * step.variant_seeds
        if step.level is not None:
            assert r.level == step.level
        assert (r.tradeoff is not None) == step.tradeoff
        if step.tradeoff:   # the picture's numbers: bias small at sigma 0.1, slopes -4 and -2
            t = r.tradeoff
            assert t["loss_slope"] == pytest.approx(-4, abs=0.1) and t["grad_slope"] == pytest.approx(-2, abs=0.1)
            assert "σ trade-off" in r.line()


def test_example_3_3_is_the_slides_example_exactly():
    lesson = load(catalog.resolve("langevin"))
    p = lesson.steps[0].preset
    assert p.density["kind"] == "mixture" and p.density["weights"] == [0.6, 0.4]
    assert p.density["means"] == [[2.0], [-2.0]] and p.density["stds"] == [0.5, 0.2]
    assert p.density["bounds"] == [[-3.0, 3.0]] and p.sampler["init"] == "uniform"
    assert p.sampler["particles"] == 10_000 and p.sampler["steps"] == 100
    assert p.sampler["kind"] == "langevin" and p.sampler["score"] == "true"
    assert p.sampler["step_size"] == 0.01          # docs/design.md's x + (eps/2) s + sqrt(eps) z
    assert [s.sample for s in lesson.steps] == [1, 10, 30, 100]
    # the steps go on with one cloud: the histogram of one run at 1, 10, 30 and 100 steps
    assert not any(s.fresh_weights or s.new_preset for s in lesson.steps[1:])


def test_sampling_to_a_step_goes_on_with_the_same_cloud():
    """`sample = 10` then `sample = 30`: the second continues the first's cloud, so the
    histogram at 30 is that of one 30-step run, not of a new one."""
    lesson = load(catalog.resolve("langevin"))
    results = run_lesson(lesson, max_particles=500)
    assert [r.sampled for r in results] == [1, 10, 30, 100]
    from explorer.core.session import Session
    alone = Session(lesson.steps[0].preset.copy())
    alone.preset.sampler["particles"] = 500
    sampler, _ = alone.sample_here(until=30)
    assert sampler.done_steps == 30
    # mode weights of one run to 30 are those the lesson shows at its step 3
    from explorer.core.measures.metrics import mode_weights
    w = [round(float(x), 4) for x in mode_weights(sampler.numpy(), alone.density.components())]
    assert w == results[2].mode_weights


def test_training_until_a_relative_fisher_divergence_stops_early():
    lesson = loads('title = "x"\n[[step]]\npreset = "mixture_score"\ntrain = 5000\n'
                   'until_fisher = 50.0\n[step.overrides]\n"model.hidden" = [16]\n')
    (r,) = run_lesson(lesson)
    assert r.steps_trained == 100 and r.relative_fisher <= 50.0   # the first evaluation


GOOD_STEP = '[[step]]\npreset = "langevin_1d"\ntext = "hi"\n'


@pytest.mark.parametrize("text,key", [
    ('title = "x"\nwhat = 1\n' + GOOD_STEP, "what"),
    ('title = "x"\n', "step"),
    (GOOD_STEP, "title"),
    ('title = "x"\n[[step]]\ntext = "no preset"\n', "step[1].preset"),
    ('title = "x"\n' + GOOD_STEP + 'trian = 10\n', "step[1].trian"),
    ('title = "x"\n' + GOOD_STEP + 'train = "many"\n', "step[1].train"),
    ('title = "x"\n' + GOOD_STEP + 'train = -5\n', "step[1].train"),
    ('title = "x"\n' + GOOD_STEP + 'until_fisher = 0.1\n', "step[1].until_fisher"),
    ('title = "x"\n' + GOOD_STEP + 'view = "everything"\n', "step[1].view"),
    ('title = "x"\n' + GOOD_STEP + 'arrows = "own"\n', "step[1].arrows"),           # 1-D
    ('title = "x"\n' + GOOD_STEP + 'sigma = 1.0\n', "step[1].sigma"),               # no levels
    ('title = "x"\n' + GOOD_STEP + 'sample = 5000\n', "step[1].sample"),            # > 1000
    ('title = "x"\n[[step]]\npreset = "no_such_preset"\n', "step[1].preset"),
    ('title = "x"\n' + GOOD_STEP + '[step.overrides]\n"objective.sigma" = -1.0\n',
     "step[1].overrides.objective.sigma"),
    ('title = "x"\n' + GOOD_STEP + '[step.overrides]\n"sampler.speed" = 2\n',
     "step[1].overrides.sampler.speed"),
    ('title = "x"\n' + GOOD_STEP + '[step.overrides]\nsteps = 2\n', "step[1].overrides.steps"),
    ('title = "x"\n' + GOOD_STEP + '[[step]]\ntext = "b"\nt = 3\n', "step[2].t"),
    ('title = "x"\n[[step]]\npreset = "mixture_score"\nsample = true\n', "step[1].sample"),  # untrained
    ('title = "x"\n' + GOOD_STEP + 'variants = ["objective.kind=blob"]\n', "step[1].variants[1]"),
    ('title = "x"\n' + GOOD_STEP + 'variants = ["density.kind=ring"]\n', "step[1].variants[1]"),
    ('title = "x"\n[[step]]\npreset = "ncsn_noise_levels"\nt = 3\n', "step[1].t"),
    ('title = "x"\n[[step]]\npreset = "ddpm_moons"\nt = 1000\n', "step[1].t"),
    ('title = "x"\n[[step]]\npreset = "langevin_1d"\ncompare = "density"\n', "step[1].compare"),
    ('title = "x"\n[[step\n', "TOML"),
    ('title = "x"\n' + GOOD_STEP + 'tradeoff = "yes"\n', "step[1].tradeoff"),
    ('title = "x"\n' + GOOD_STEP + 'trade_off = true\n', "step[1].trade_off"),
])
def test_bad_lessons_name_the_file_and_the_key(tmp_path, text, key):
    f = tmp_path / "bad_lesson.toml"
    f.write_text(text)
    with pytest.raises(SpecError) as e:
        load(f)
    msg = str(e.value)
    assert msg.startswith(str(f)) and key in msg, msg
    assert "\n" not in msg


def test_overrides_edit_the_step_before_and_keep_its_weights():
    lesson = loads('title = "x"\n'
                   '[[step]]\npreset = "mixture_score"\ntrain = 10\n'
                   '[[step]]\noverrides = { "sampler.particles" = 50 }\nsample = true\n'
                   '[[step]]\n[step.overrides]\nobjective.kind = "dsm"\nobjective.sigma = 0.2\n'
                   '[[step]]\npreset = "mixture_score"\n[step.overrides]\n"density.kind" = "ring"\n')
    a, b, c, d = lesson.steps
    assert b.preset.sampler["particles"] == 50 and not b.fresh_weights
    assert b.preset.objective == a.preset.objective
    assert c.fresh_weights and c.preset.objective["kind"] == "dsm" and c.preset.objective["sigma"] == 0.2
    assert d.preset.density["kind"] == "ring" and "weights" not in d.preset.density   # afresh
    assert lesson.training_before(1) == 10 and lesson.training_before(3) == 0


def test_text_renders_formulas_marks_and_escapes_html():
    html = to_html("A **bold** *word*, $s_{θ}(x) = ∇ₓ log p$ and σ^{2} <b>raw</b>.\n\n- one\n- two")
    assert "<b>bold</b>" in html and "<i>word</i>" in html and "<sub>θ</sub>" in html
    assert "<sup>2</sup>" in html and "&lt;b&gt;raw&lt;/b&gt;" in html and "serif" in html
    assert html.count("<li>") == 2 and html.count("<p") == 1
    assert to_plain("$s_{θ}$ is **it**") == "s_θ is it"


def _lesson_cli(*args):
    return subprocess.run([sys.executable, "-m", "explorer", "lesson", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_lists_the_lessons_one_a_line_in_course_order():
    r = _lesson_cli("--list")
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and [line.split()[0] for line in lines] == catalog.names()
    for line, path in zip(lines, catalog.shipped_lessons()):   # each with its title
        assert line.rstrip().endswith(catalog.title_of(path)) and catalog.title_of(path) != path.stem


def test_cli_a_bad_lesson_name_or_file_is_one_error_line(tmp_path, cli_here):
    r = cli_here("lesson", "no_such_lesson")
    assert r.returncode == 2 and r.stderr.startswith("error: no_such_lesson")
    assert len(r.stderr.strip().splitlines()) == 1
    f = tmp_path / "broken.toml"
    f.write_text('title = "x"\n' + GOOD_STEP + 'train = "many"\n')
    r = cli_here("lesson", f, "--headless")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:")
    assert "broken.toml" in lines[0] and "step[1].train" in lines[0] and "Traceback" not in r.stderr


def test_cli_plays_a_lesson_headless(tmp_path):
    f = tmp_path / "tiny.toml"
    f.write_text('title = "Tiny"\n[[step]]\npreset = "langevin_1d"\nsample = 5\n'
                 '[step.overrides]\n"sampler.particles" = 20\n'
                 '[[step]]\ntrain = 3\nsample = 7\n')
    r = _lesson_cli(f, "--headless")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "Tiny" and out[1].startswith("step 1:") and "sampled 5 steps" in out[1]
    assert "3 steps trained" in out[2] and "sampled 7 steps" in out[2]
