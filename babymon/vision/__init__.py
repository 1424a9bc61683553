"""Vision: face detectors at any rotation, face state, posture, the per-frame pipeline (lab: babymon_lab.vision)."""
