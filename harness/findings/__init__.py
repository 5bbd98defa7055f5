"""What a run found, read through the suites' declarations: its summary, its
key figures, how it compares with another run, the CI gate, and the history
of many runs. The statistics they use are in harness/analysis/."""
