"""Vision: face detection at any rotation (face.py), its geometry and evaluation. See README.md here."""
