"""Teach babymon your nursery: frames kept for labelling (:mod:`folder`), the features of a frame
(:mod:`features`), heads refitted to the nursery (:mod:`refit`) and the folders that hold them (:mod:`heads`)."""
