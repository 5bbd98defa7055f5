"""Pure analysis of results: statistics, bootstrap, summary, compare, history."""
