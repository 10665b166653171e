"""The subcommands of `score-explorer`, one module each, and what they share.

explorer/cli.py dispatches through its COMMANDS table; every subcommand runs inside
guard.guarded, the one place that turns errors and signals into exit statuses
(docs/faults.md): invalid input 2, a fault 1, Ctrl-C 130, SIGTERM 143.
"""
