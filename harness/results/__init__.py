"""The results model and its storage: what a run recorded, read and written."""
