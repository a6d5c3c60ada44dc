"""Case files: a dispute exported with its events, proofs, attachments, report and a standalone verifier."""
