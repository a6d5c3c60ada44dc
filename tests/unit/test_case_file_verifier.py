"""The case file's standalone verify.py agrees with the server's own code without importing it.

verify.py re-implements RFC 8785 and RFC 9162 so a reader needs only Python and `cryptography`; these tests
hold the copies to the originals: the canonical JSON byte for byte, the proofs on the shared vectors.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from server.casefile import standalone_verify as verifier

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "rfc9162"
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES)
def test_the_verifiers_canonical_json_is_byte_for_byte_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:  # lone surrogates: the server could not have hashed them either
        return
    assert verifier.canonical(value) == expected


@pytest.mark.parametrize("number", [0.0, -0.0, 1e21, 1e20, 1.5e-7, 1e-6, 5e-324, 1.7976931348623157e308, -2.1316, 15.0])
def test_the_verifiers_numbers_are_spelled_as_rfc8785_spells_them(number: float) -> None:
    assert verifier.canonical(number) == rfc8785.dumps(number)


def test_the_verifier_passes_the_shared_rfc9162_vectors() -> None:
    files = sorted(VECTORS.rglob("*.json"))
    if not files:
        pytest.skip(f"no RFC 9162 vectors at {VECTORS}")
    for path in files:
        vector = json.loads(path.read_text())
        proof = [base64.b64decode(node) for node in vector["proof"] or []]
        try:
            if "leafIdx" in vector:
                leaf, root = base64.b64decode(vector["leafHash"] or ""), base64.b64decode(vector["root"] or "")
                verifier.verify_inclusion(leaf, vector["leafIdx"], vector["treeSize"], proof, root)
            else:
                old, new = base64.b64decode(vector["root1"] or ""), base64.b64decode(vector["root2"] or "")
                verifier.verify_consistency(vector["size1"], vector["size2"], old, new, proof)
        except verifier.Invalid:
            accepted = False
        else:
            accepted = True
        assert accepted != vector["wantErr"], path


def test_the_verifier_imports_nothing_but_the_standard_library_and_cryptography() -> None:
    source = Path(verifier.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])

    assert imported - {"cryptography", "__future__"} <= set(__import__("sys").stdlib_module_names)
