"""What the suites do to a backend's instances, each timed or read the same
way for every backend: starts, warm calls and in-engine loops (instances.py),
memory sweeps, density sweeps (density.py), concurrent callers
(concurrency.py), and the CPU regime a block runs in (cpu_regime.py)."""
