"""Cry detection from a camera's audio track (16 kHz mono): features, models, hysteresis (training: babymon_lab.cry)."""
