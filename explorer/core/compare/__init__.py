"""`score-explorer compare`: many headless runs of one preset, side by side (issue 11).

plan.py     the runs: product of the --vary lists times the seeds, each validated
execute.py  a local process pool or a Dask cluster runs them; the client writes their folders
summary.py  summary.csv, summary.json, compare.png/.svg and the printed table
runner.py   the whole command, from its arguments to its files

Qt-free; matplotlib (Agg) draws the figure.
"""

from .runner import run_compare

__all__ = ["run_compare"]
