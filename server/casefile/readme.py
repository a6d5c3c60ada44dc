"""BACA-SAYA.txt: the first file a reader opens, in Bahasa Indonesia and English (kept as code, so it ships)."""

BACA_SAYA = """\
BERKAS PERKARA PANTAU / PANTAU CASE FILE
=======================================

Periksa berkas ini / Check this case file:

    python verify.py                              (Python 3.9+, paket/package: cryptography)
    python verify.py --trusted checkpoint-lama.txt [--key "<kunci verifikasi>"]

Isi / Contents
  report.html       Kronologi yang mudah dibaca (bukan bukti; buktinya events.json).
                    Readable timeline (a reading aid; the evidence is events.json).
  events.json       Setiap peristiwa: nilai tiap kolom + garam (salt), atau hanya komitmen kolom yang
                    disembunyikan; bita daun (leaf) dan bukti inklusi Merkle (RFC 9162).
                    Every event: each field's value and salt, or only the commitment of a withheld field;
                    its leaf bytes and its RFC 9162 inclusion proof.
  checkpoint.txt    Checkpoint bertanda tangan (C2SP signed note, Ed25519) yang mencakup semua peristiwa.
                    The signed checkpoint every event is proven against.
  verifier-key.txt  Kunci publik penanda tangan / the signer's public verifier key.
  consistency.json  Bukti konsistensi dari setiap checkpoint yang pernah diterbitkan sebelumnya.
                    Consistency proofs from every earlier published checkpoint.
  attachments/      Lampiran, bernama SHA-256 isinya / attachments named by their SHA-256.
  manifest.json     Siapa, kapan, untuk peran apa; kolom yang disembunyikan (tidak ditandatangani).
                    Who exported it, when, for which role; withheld fields (not signed).

Daun (leaf) setiap peristiwa / Each event's leaf = RFC 8785 JSON of
  {"format":"pantau-leaf/1","position":P,"originator_id":ID,"originator_version":V,"topic":T,
   "fields":{name: hex(SHA-256(salt || RFC 8785(value)))}}
leaf hash = SHA-256(0x00 || leaf); node = SHA-256(0x01 || left || right).

Kolom yang disembunyikan (mis. NIK) hanya membawa komitmennya: daun tetap dapat dihitung ulang, sedangkan
garam rahasia membuat nilai aslinya tidak dapat ditebak dari komitmen.
A withheld field (e.g. a NIK) carries only its commitment: the leaf still recomputes, and without the
secret salt the commitment cannot be brute-forced back to the value.

Batas / Limits: verify.py membuktikan bahwa setiap peristiwa di berkas ada di log tanpa perubahan, dan
bahwa riwayat setiap catatan tidak berlubang; ia tidak dapat membuktikan bahwa tidak ada peristiwa yang
lebih baru dari catatan itu yang tidak disertakan. verify.py proves every event in the file is in the log
unchanged and that each record's history has no gap; it cannot prove no newer event of a record was left out.
"""
