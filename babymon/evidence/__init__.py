"""Event evidence on disk: every event in an append-only list, a snapshot (and optionally a clip) per alert.

Layout under ``http.evidence.path``::

    events.jsonl            one JSON event per line, oldest first (the list survives restarts)
    <event id>.jpg          the annotated frame when an alert started
    <event id>.mp4          a clip around it (when ``clip_seconds`` > 0)

Retention (:func:`retention_plan`, pure): events older than ``max_age`` go with their files; beyond
``max_bytes`` the files of the oldest events go first (the event itself stays in the list until it ages out).
Files are only ever served by looking an event id up in this list, and only under the name ``<id>.jpg`` /
``<id>.mp4`` as a regular file directly in the folder, so nothing outside the store is reachable.

The folder is never trusted to work: a bad line in the list is skipped (with one warning), every write is
atomic (a temporary file beside the target, then a rename) and no failure raises. When the folder cannot be
written (read-only, full, gone) the store keeps the newest events in memory, says what is wrong in
:attr:`EvidenceStore.problem`, and :meth:`EvidenceStore.retry` writes them once it works again.

The store is an output (:mod:`babymon.outputs`): an alert's snapshot (the annotated JPEG the camera driver
encoded once) arrives just before the alert's events and is stored with them; every analysed frame arrives
for clips. Writes are small and rare (alerts), so they happen on the event loop; clips are encoded in a
worker thread.

Modules: ``store`` (the output the daemon pushes to), ``records`` (the list's lines and the retention plan,
pure), ``clips`` (the clip recorder).
"""

from babymon.evidence.clips import ClipRecorder, write_clip
from babymon.evidence.records import EVENT_ID, FILE_KINDS, INDEX, Evidence, parse_event, retention_plan
from babymon.evidence.store import EvidenceStore

__all__ = ["EVENT_ID", "FILE_KINDS", "INDEX", "ClipRecorder", "Evidence", "EvidenceStore", "parse_event",
           "retention_plan", "write_clip"]
