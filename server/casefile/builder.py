"""Build a dispute's case file: a ZIP a court can check offline with the verify.py inside it.

Layout (README, "Case files"): manifest.json, checkpoint.txt (one signed checkpoint covering every event),
verifier-key.txt, events.json (each event's fields with their salts, or only the commitment of a withheld
field, its leaf bytes and its inclusion proof), consistency.json (proofs from every earlier published
checkpoint), attachments/<sha256>.<ext>, report.html, verify.py and BACA-SAYA.txt.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from uuid import UUID

from server.attachments.store import BlobNotFoundError, BlobStore
from server.casefile.collect import RelatedEvent, collect_case
from server.casefile.readme import BACA_SAYA
from server.casefile.report import TimelineEntry, render_report
from server.domain.errors import ConflictError
from server.domain.roles import UNMASKED_NIK_ROLES, Actor
from server.ledger.leaf import EventRecord, LeafError
from server.ledger.merkle import consistency_proof, inclusion_proof, leaf_hash
from server.ledger.service import Ledger
from server.ledger.store import StoredCheckpoint, StoredLeafHashes

FORMAT = "pantau-case/1"
# Secrets that never belong in evidence, whoever exports (an Account or push event may be named as evidence).
ALWAYS_WITHHELD = frozenset({"password_hash", "token_hash", "endpoint", "p256dh", "auth"})
# A voter's or complainant's identity, for roles not entitled to a whole NIK. `fingerprint` is an unsalted
# SHA-256 of the submitted body, NIK included: disclosed, it would let a reader confirm a guessed NIK.
PERSONAL = frozenset({"nik", "full_name", "complainant", "fingerprint"})
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CaseFileError(ConflictError):
    """The ledger cannot cover the case's events (the follower stopped on an undecodable event)."""


@dataclass(frozen=True)
class CaseFile:
    data: bytes
    filename: str
    events: int
    attachments: int
    tree_size: int
    warnings: list[str]


def withheld_for(role: str) -> frozenset[str]:
    """Field names a case file exported for this role carries only as commitments."""
    return ALWAYS_WITHHELD if role in UNMASKED_NIK_ROLES else ALWAYS_WITHHELD | PERSONAL


def export_case(
    application: Any, ledger: Ledger, blobs: BlobStore, actor: Actor, dispute_id: UUID, now: datetime | None = None
) -> CaseFile:
    """The case file of one dispute as `actor` may see it, proven against a checkpoint signed now."""
    contents = collect_case(application, actor, dispute_id)
    try:
        # Signing now means every event collected above is covered by the one checkpoint in the bundle.
        signed = ledger.follower.checkpoint_now()
    except LeafError as error:
        message = f"The ledger cannot follow the event store ({error}); run `pantau ledger verify`."
        raise CaseFileError(message) from None
    withheld = withheld_for(actor.role)
    warnings = list(contents.warnings)
    hashes = StoredLeafHashes(ledger.store, signed.tree_size)
    entries, timeline, attachments = [], [], {}
    for event in contents.events:
        entry, record = _entry(ledger, hashes, event, withheld, warnings)
        entries.append(entry)
        if record is not None:
            timeline.append(TimelineEntry(event.position, event.related_as, record))
            _collect_attachments(record, blobs, attachments, warnings)
    exported_at = (now or datetime.now(UTC)).isoformat()
    manifest = {
        "format": FORMAT,
        "dispute_id": str(dispute_id),
        "exported_at": exported_at,
        "exported_for_role": actor.role,
        "exported_by": actor.username,
        "origin": ledger.origin,
        "tree_size": signed.tree_size,
        "events": len(entries),
        "attachments": len(attachments),
        "withheld_fields": sorted(withheld),
        "warnings": warnings,
    }
    files: dict[str, bytes] = {
        "manifest.json": _json(manifest),
        "checkpoint.txt": signed.note.encode(),
        "verifier-key.txt": (ledger.verifier_key + "\n").encode(),
        "events.json": _json({"format": FORMAT, "tree_size": signed.tree_size, "events": entries}),
        "consistency.json": _json({"second": signed.tree_size, "proofs": _consistency(ledger, signed)}),
        "report.html": render_report(contents, timeline, manifest, sorted(attachments), withheld).encode(),
        "verify.py": resources.files("server.casefile").joinpath("standalone_verify.py").read_bytes(),
        "BACA-SAYA.txt": BACA_SAYA.encode(),
    }
    for name, data in sorted(attachments.items()):
        files[f"attachments/{name}"] = data
    return CaseFile(_zip(files), f"berkas-perkara-{dispute_id}.zip", len(entries), len(attachments),
                    signed.tree_size, warnings)


def _entry(
    ledger: Ledger, hashes: StoredLeafHashes, event: RelatedEvent, withheld: frozenset[str], warnings: list[str]
) -> tuple[dict[str, Any], EventRecord | None]:
    """One event as verify.py reads it; an event that no longer decodes is exported bare, so verification fails."""
    entry: dict[str, Any] = {
        "position": event.position,
        "originator_id": event.originator_id,
        "originator_version": event.originator_version,
        "topic": event.topic,
        "related_as": event.related_as,
    }
    stored = ledger.store.leaf_at_position(event.position)
    if stored is None or stored.leaf_index >= len(hashes):
        warnings.append(f"position {event.position} is not in the ledger; verify.py will reject this case file")
    else:
        entry["leaf_index"] = stored.leaf_index
        entry["inclusion_proof"] = [_b64(node) for node in inclusion_proof(hashes, stored.leaf_index, len(hashes))]
    maker = ledger.maker
    try:
        record = maker.record(event.position, event.originator_id, event.originator_version, event.topic, event.state)
        commitments = maker.commitments(record)
        leaf = maker.leaf(record)
    except LeafError as error:
        warnings.append(f"position {event.position}: {error}; verify.py will reject this case file")
        return entry, None
    entry["fields"] = {
        name: {"withheld": True, "commitment": commitments[name]}
        if name in withheld
        else {"value": value, "salt": maker.salt(record, name).hex()}
        for name, value in record.fields.items()
    }
    entry["leaf"] = _b64(leaf)
    if stored is not None and leaf_hash(leaf) != stored.leaf_hash:
        # Exported anyway: the case file must show the store as it is, and verify.py then names the event.
        warnings.append(f"position {event.position} no longer matches its ledger leaf (altered); verify.py will fail")
    return entry, record


def _collect_attachments(record: EventRecord, blobs: BlobStore, found: dict[str, bytes], warnings: list[str]) -> None:
    """Any file an event names by SHA-256 (a record's attachment, a dispute's evidence) goes into the bundle."""
    sha256 = record.fields.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        return
    name = f"{sha256}.{EXTENSIONS.get(str(record.fields.get('media_type')), 'bin')}"
    if name in found:
        return
    try:
        found[name] = blobs.get(sha256)
    except BlobNotFoundError:
        warnings.append(f"attachment {sha256} (position {record.position}) is missing from the blob store")


def _consistency(ledger: Ledger, signed: StoredCheckpoint) -> list[dict[str, Any]]:
    """A proof from every earlier published checkpoint, so a reader holding any of them can check this one."""
    hashes = StoredLeafHashes(ledger.store, signed.tree_size)
    return [
        {
            "first": earlier.tree_size,
            "checkpoint": earlier.note,
            "proof": [_b64(node) for node in consistency_proof(hashes, earlier.tree_size, signed.tree_size)],
        }
        for earlier in ledger.store.checkpoints()
        if 0 < earlier.tree_size < signed.tree_size
    ]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            # A fixed timestamp: the same case exported twice differs only where its content does.
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # plain readable files once extracted
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
