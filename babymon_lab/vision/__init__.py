"""The vision models offline: data and occluders, training, evaluation, benchmarks, the RetinaFace export."""
