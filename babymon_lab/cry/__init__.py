"""The cry models offline: audio corpus, training, fusion fitting, evaluation, weight sweeps."""
