#!/usr/bin/env python3
"""Verify a Pantau case file offline: every event, proof, signature and attachment in it.

Periksa berkas perkara Pantau tanpa server: setiap peristiwa, bukti Merkle, tanda tangan, dan lampiran.

    python verify.py [BUNDLE] [--trusted CHECKPOINT.txt] [--key VERIFIER_KEY]

BUNDLE is the case-file ZIP or the folder it was extracted to (default: this file's folder). `--trusted`
names a checkpoint you obtained earlier (e.g. from GET /api/v1/ledger/checkpoint): the bundle must prove
that its log extends it. `--key` is a verifier key you trust, used instead of the bundled one.
Needs Python 3.9+ and the `cryptography` package only; the case file's own README explains each check.
This file is deliberately self-contained (no Pantau imports) so a reader can audit it in one sitting.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import re
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LEAF_FORMAT = "pantau-leaf/1"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_SAFE_INTEGER = 2**53 - 1


class Invalid(ValueError):
    """One check failed; the message says what and where."""


# --- RFC 8785 canonical JSON (the leaf and commitment encoding) -----------------------------------------


def canonical(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise Invalid(f"integer {value} is outside the range RFC 8785 allows")
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(_jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        # RFC 8785 3.2.3: keys sorted by their UTF-16 code units.
        keys = sorted(value, key=lambda key: key.encode("utf-16-be"))
        return "{" + ",".join(_string(key) + ":" + _jcs(value[key]) for key in keys) + "}"
    raise Invalid(f"{type(value).__name__} is not a JSON value")


def _string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _number(value: float) -> str:
    """ECMAScript Number::toString, which RFC 8785 adopts; repr() gives the same shortest digits."""
    if not math.isfinite(value):
        raise Invalid("NaN and infinities are not JSON")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _number(-value)
    _, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    k = len(digits)
    n = exponent + k  # value = 0.digits x 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mark = "+" if n - 1 >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{mark}{abs(n - 1)}"


# --- leaves: pantau-leaf/1 --------------------------------------------------------------------------


def leaf_bytes(event: dict[str, Any]) -> bytes:
    """Recompute the leaf from disclosed values and salts, or from the commitments of withheld fields."""
    commitments = {}
    for name, field in event["fields"].items():
        if "commitment" in field:
            if not isinstance(field["commitment"], str) or not SHA256_HEX.fullmatch(field["commitment"]):
                raise Invalid(f"field {name!r}: the withheld field's commitment is not 64 hex digits")
            commitments[name] = field["commitment"]
            continue
        salt = _hex(field.get("salt"), f"field {name!r}: salt")
        commitments[name] = hashlib.sha256(salt + canonical(field.get("value"))).hexdigest()
    return canonical(
        {
            "format": LEAF_FORMAT,
            "position": event["position"],
            "originator_id": event["originator_id"],
            "originator_version": event["originator_version"],
            "topic": event["topic"],
            "fields": commitments,
        }
    )


def _hex(text: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        raise Invalid(f"{what} is not hex") from None


def _b64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Invalid(f"{what} is not base64") from None


# --- RFC 9162 Merkle proofs ------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hashes(*values: bytes) -> None:
    if any(len(value) != 32 for value in values):
        raise Invalid("a hash in the proof is not 32 bytes long")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise Invalid(f"leaf index {index} is outside the tree of size {size}")
    _check_hashes(leaf, root, *proof)
    fn, sn, result = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise Invalid("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Invalid("the inclusion proof is too short")
    if result != root:
        raise Invalid("the inclusion proof does not lead to the checkpoint's root hash")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> None:
    """RFC 9162 section 2.1.4.2."""
    if not 0 < first <= second:
        raise Invalid(f"no consistency proof exists from tree size {first} to {second}")
    if first == second:
        if proof or first_root != second_root:
            raise Invalid("two checkpoints of the same size have different root hashes")
        return
    if not proof:
        raise Invalid("the consistency proof is empty")
    _check_hashes(first_root, second_root, *proof)
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result = second_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise Invalid("the consistency proof is too long")
        if fn & 1 or fn == sn:
            first_result, second_result = node_hash(element, first_result), node_hash(element, second_result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_result = node_hash(second_result, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Invalid("the consistency proof is too short")
    if first_result != first_root or second_result != second_root:
        raise Invalid(f"the log of size {second} does not extend the log of size {first} (roots do not match)")


# --- C2SP signed-note checkpoints, Ed25519 ------------------------------------------------------------


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    """Check the note's Ed25519 signature by the key; return (origin, tree size, root hash)."""
    name, key_id_hex, encoded = [*verifier_key.strip().split("+", 2), "", ""][:3]
    material = _b64(encoded, "the verifier key")
    if len(material) != 33 or material[:1] != b"\x01":
        raise Invalid("the verifier key is not an Ed25519 signed-note key")
    key_id = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise Invalid("the verifier key's ID does not match its name and key")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise Invalid("the checkpoint is not a signed note")
    text, signatures = note[: split + 1], note[split + 2 : -1].split("\n")
    signed = False
    for line in signatures:
        signer, _, blob_text = line.removeprefix("\u2014 ").partition(" ")
        blob = _b64(blob_text, "a signature")
        if signer != name or blob[:4] != key_id:
            continue  # another signer (a witness): not ours to check
        try:
            Ed25519PublicKey.from_public_bytes(material[1:]).verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise Invalid(f"the signature by {name} does not verify") from None
        signed = True
    if not signed:
        raise Invalid(f"the checkpoint carries no signature by {name}")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise Invalid("the checkpoint does not have an origin, a tree size and a root hash")
    root = _b64(lines[2], "the root hash")
    if len(root) != 32:
        raise Invalid("the root hash is not 32 bytes")
    return lines[0], int(lines[1]), root


# --- the bundle ------------------------------------------------------------------------------------


def read_bundle(path: Path) -> dict[str, bytes]:
    """Every file of the case file by its name inside it, from the ZIP or the extracted folder."""
    if path.is_file():
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    return {item.relative_to(path).as_posix(): item.read_bytes() for item in path.rglob("*") if item.is_file()}


def _json(files: dict[str, bytes], name: str) -> Any:
    if name not in files:
        raise Invalid(f"{name} is missing from the case file")
    try:
        return json.loads(files[name].decode("utf-8"), parse_constant=lambda c: float("nan"))
    except (UnicodeDecodeError, ValueError):
        raise Invalid(f"{name} is not valid JSON") from None


class Report:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []

    def check(self, what: str, action: Any, *args: Any) -> Any:
        try:
            result = action(*args)
        except (Invalid, KeyError, TypeError, ValueError) as error:
            reason = f"missing {error}" if isinstance(error, KeyError) else str(error)
            self.failed.append(f"{what}: {reason}")
            return None
        self.passed.append(what)
        return result if result is not None else True


def describe(event: dict[str, Any]) -> str:
    topic = str(event.get("topic", "?")).rpartition(":")[2]
    record = f"{event.get('originator_id')} v{event.get('originator_version')}"
    return f"event at position {event.get('position')} ({topic}, {record})"


def well_formed(report: Report, event: Any) -> bool:
    """The later checks may rely on these keys and types; anything else fails here, once."""
    shape = {"position": int, "leaf_index": int, "originator_id": str, "originator_version": int, "topic": str,
             "fields": dict, "inclusion_proof": list}
    if (
        isinstance(event, dict)
        and all(isinstance(event.get(k), t) for k, t in shape.items())
        and all(isinstance(field, dict) for field in event["fields"].values())
    ):
        return True
    if isinstance(event, dict) and "position" in event:
        # The exporter writes an event it could not decode or place without fields or proof, so it fails here.
        report.failed.append(f"{describe(event)}: the case file lacks its fields or its proof (unreadable or altered)")
    else:
        report.failed.append(f"events.json: an entry is malformed: {str(event)[:120]}")
    return False


def check_event(event: dict[str, Any], size: int, root: bytes) -> None:
    """The leaf recomputed from the event's fields is in the tree the checkpoint signs."""
    data = leaf_bytes(event)
    if "leaf" in event and _b64(event["leaf"], "leaf") != data:
        raise Invalid("its fields do not produce the leaf bytes listed with it (a value or salt was changed)")
    proof = [_b64(node, "a proof hash") for node in event["inclusion_proof"]]
    try:
        verify_inclusion(leaf_hash(data), event["leaf_index"], size, proof, root)
    except Invalid as error:
        raise Invalid(f"{error}: its content is not what the log holds (altered?)") from None


def disclosed(event: dict[str, Any], name: str) -> Any:
    """A field's value if the bundle reveals it, else None."""
    return (event["fields"].get(name) or {}).get("value")


def check_order(events: list[dict[str, Any]]) -> None:
    """Log order is leaf order: positions and leaf indices rise together, none repeated."""
    previous: dict[str, Any] | None = None
    for event in sorted(events, key=lambda e: e["position"]):
        if previous and (event["position"] == previous["position"] or event["leaf_index"] <= previous["leaf_index"]):
            raise Invalid(f"{describe(event)} is out of log order or repeated")
        previous = event


def check_history(events: list[dict[str, Any]], aggregate_id: str, what: str) -> None:
    """A record's whole history is there: versions 1, 2, ... without a gap."""
    versions = sorted(e["originator_version"] for e in events if e["originator_id"] == aggregate_id)
    if not versions:
        raise Invalid(f"the case file holds no event of {what} {aggregate_id}")
    missing = sorted(set(range(1, versions[-1] + 1)) - set(versions))
    if missing:
        raise Invalid(f"{what} {aggregate_id} lacks version(s) {', '.join(map(str, missing))} (an event was removed)")


def check_completeness(report: Report, manifest: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, int]:
    """What the events themselves say must be present: subjects, evidence events, attachments."""
    if manifest.get("events") != len(events):
        report.failed.append(f"manifest.json lists {manifest.get('events')} events, events.json holds {len(events)}")
    dispute = manifest.get("dispute_id")
    report.check(f"history of dispute {dispute}", check_history, events, dispute, "dispute")
    opened = [e for e in events if e["originator_id"] == dispute and e["originator_version"] == 1]
    for subject in (disclosed(opened[0], "subjects") or []) if opened else []:
        what = f"history of {subject['kind']} {subject['id']}"
        report.check(what, check_history, events, subject["id"], subject["kind"])
    by_position = {e["position"]: e for e in events}
    named: dict[str, int] = {}
    for event in events:
        if disclosed(event, "evidence_kind") == "event":
            position = disclosed(event, "position")
            found = by_position.get(position)
            if found is None or (found["originator_id"], found["originator_version"]) != (
                disclosed(event, "aggregate_id"),
                disclosed(event, "aggregate_version"),
            ):
                report.failed.append(f"{describe(event)} names the event at position {position} as evidence; "
                                     "the case file does not hold that event")
        sha256 = disclosed(event, "sha256")
        if isinstance(sha256, str):
            named[sha256] = disclosed(event, "size")
    return named


def check_attachments(report: Report, files: dict[str, bytes], named: dict[str, int]) -> None:
    """Every file's SHA-256 is its name, and every file an event names is there with its size."""
    stored = {}
    for name, data in files.items():
        if name.startswith("attachments/"):
            claimed = name.removeprefix("attachments/").split(".")[0]
            actual = hashlib.sha256(data).hexdigest()
            if actual != claimed:
                report.failed.append(f"{name}: its content's SHA-256 is {actual}, not its name (altered)")
            stored[claimed] = len(data)
    for sha256, size in sorted(named.items()):
        if sha256 not in stored:
            report.failed.append(f"attachment {sha256} is named by an event but missing from attachments/")
        elif size is not None and stored[sha256] != size:
            report.failed.append(f"attachment {sha256}: {stored[sha256]} bytes, the event says {size}")
        else:
            report.passed.append(f"attachment {sha256}")


def verify(files: dict[str, bytes], trusted: str | None = None, key: str | None = None) -> Report:
    """Every check on one case file; the report lists what passed and what failed."""
    report = Report()
    manifest = report.check("manifest.json", _json, files, "manifest.json") or {}
    bundled_key = files.get("verifier-key.txt", b"").decode("utf-8", "replace").strip()
    if key and bundled_key != key.strip():
        report.failed.append("verifier-key.txt is not the key given with --key")
    key = (key or bundled_key).strip()
    note = files.get("checkpoint.txt", b"").decode("utf-8", "replace")
    head = report.check("checkpoint.txt signature", open_checkpoint, note, key)
    if not head:
        return report
    _, size, root = head
    events_doc = report.check("events.json", _json, files, "events.json") or {}
    events = [event for event in events_doc.get("events", []) if well_formed(report, event)]
    for event in events:
        report.check(describe(event), check_event, event, size, root)
    report.check("log order of the events", check_order, events)
    named = check_completeness(report, manifest, events)
    check_attachments(report, files, named)
    proofs = (report.check("consistency.json", _json, files, "consistency.json") or {}).get("proofs", [])
    for item in proofs:
        what = f"consistency from the checkpoint of size {item.get('first')} to {size}"
        earlier = report.check(what + " (its signature)", open_checkpoint, item.get("checkpoint", ""), key)
        if earlier:
            path = [_b64(node, "a proof hash") for node in item.get("proof", [])]
            report.check(what, verify_consistency, earlier[1], size, earlier[2], root, path)
    if trusted is not None:
        what = "the case file's log extends the trusted checkpoint"
        report.check(what, check_trusted, trusted, key, size, root, proofs)
    return report


def check_trusted(trusted: str, key: str, size: int, root: bytes, proofs: list[dict[str, Any]]) -> None:
    """A checkpoint the reader already held: the bundle's tree must be that tree, grown."""
    try:
        _, old_size, old_root = open_checkpoint(trusted, key)
    except Invalid as error:
        raise Invalid(f"the trusted checkpoint does not verify with this key ({error})") from None
    if old_size > size:
        raise Invalid(f"the trusted checkpoint (size {old_size}) is newer than the case file's (size {size})")
    if old_size == size:
        if old_root != root:
            raise Invalid(f"the trusted checkpoint and the case file's both have size {size} but different roots")
        return
    matching = [p for p in proofs if p.get("first") == old_size]
    if not matching:
        raise Invalid(f"the case file has no consistency proof from tree size {old_size}")
    path = [_b64(node, "a proof hash") for node in matching[0].get("proof", [])]
    verify_consistency(old_size, size, old_root, root, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--trusted", type=Path, help="a checkpoint note you obtained before")
    parser.add_argument("--key", help="a verifier key you trust (name+id+base64)")
    parser.add_argument("--verbose", action="store_true", help="list every check that passed")
    args = parser.parse_args(argv)
    try:
        files = read_bundle(args.bundle)
        trusted = args.trusted.read_text(encoding="utf-8") if args.trusted else None
    except (OSError, zipfile.BadZipFile) as error:
        print(f"Cannot read the case file: {error}")
        return 1
    report = verify(files, trusted, args.key)
    try:
        for warning in json.loads(files.get("manifest.json", b"{}")).get("warnings", []):
            print(f"note  the exporter warned: {warning}")
    except (ValueError, AttributeError):
        pass  # an unreadable manifest is already a failure in the report
    for line in report.passed if args.verbose else []:
        print(f"ok    {line}")
    for line in report.failed:
        print(f"FAIL  {line}")
    if report.failed or not report.passed:
        print(f"VERDICT: FAILED - {len(report.failed)} problem(s). HASIL: GAGAL - berkas ini tidak dapat dipercaya.")
        return 1
    extends = " and extends the trusted checkpoint" if trusted else ""
    print(f"{len(report.passed)} checks passed.")
    print(f"VERDICT: OK - every event, proof, signature and attachment verifies{extends}. "
          "HASIL: SAH - berkas ini utuh.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
