"""babymon's lab: training, data building, evaluation, benchmarks and exports (offline only).

It may import :mod:`babymon`; :mod:`babymon` never imports it, except :mod:`babymon.cli` loading
:mod:`babymon_lab.commands` (the lab's commands) when this package is installed.
"""
