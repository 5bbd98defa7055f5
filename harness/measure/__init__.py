"""The measuring side: profiles, procedures, trials in worker processes, the journal."""
