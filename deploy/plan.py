"""What deploy.sh still has to do, from what gcloud says exists (JSON on stdin).

    gcloud firestore indexes composite list --format=json | python -m deploy.plan indexes F
    gcloud firestore fields ttls list --format=json | python -m deploy.plan ttls F
    gcloud ... get-iam-policy ... --format=json | python -m deploy.plan has-binding ROLE MEMBER
    python -m deploy.plan fingerprint DIR [WORD...]

`indexes` and `ttls` print one line per missing item, tab-separated, for deploy.sh to turn
into commands; `has-binding` answers with its exit status; `fingerprint` prints a 40-hex
digest of a directory's files and the words given (a deploy's spec), which deploy.sh keeps in
a label so a second run can see that nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

IndexKey = tuple[str, str, tuple[tuple[str, str], ...]]


def _index_key(group: str, scope: str, fields: Iterable[Mapping[str, Any]]) -> IndexKey:
    """Firestore appends `__name__` to a composite index's fields; it is not part of ours."""
    pairs = tuple(
        (str(f["fieldPath"]), str(f.get("order") or f.get("arrayConfig") or "").upper())
        for f in fields
        if f.get("fieldPath") != "__name__"
    )
    return group, scope.upper(), pairs


def missing_indexes(wanted: Mapping[str, Any], existing: Sequence[Mapping[str, Any]]) -> list[str]:
    """Lines `group<TAB>--field-config=...<TAB>...` for each wanted index not there yet."""
    have = set()
    for index in existing:
        group = str(index.get("name", "")).split("/collectionGroups/")[-1].split("/")[0]
        have.add(_index_key(group, str(index.get("queryScope", "")), index.get("fields", [])))
    lines = []
    for index in wanted.get("indexes", []):
        group = index["collectionGroup"]
        key = _index_key(group, index.get("queryScope", "COLLECTION"), index["fields"])
        if key in have:
            continue
        configs = [
            f"--field-config=field-path={path},order={order.lower()}" for path, order in key[2]
        ]
        lines.append("\t".join([group, key[1], *configs]))
    return lines


def missing_ttls(wanted: Mapping[str, Any], existing: Sequence[Mapping[str, Any]]) -> list[str]:
    """Lines `group<TAB>field` for each TTL field override not yet enabled."""
    have = set()
    for field in existing:
        state = str((field.get("ttlConfig") or {}).get("state", ""))
        if state in ("ACTIVE", "CREATING"):
            name = str(field.get("name", ""))
            group = name.split("/collectionGroups/")[-1].split("/")[0]
            have.add((group, name.rsplit("/fields/", 1)[-1]))
    return [
        f"{o['collectionGroup']}\t{o['fieldPath']}"
        for o in wanted.get("fieldOverrides", [])
        if o.get("ttl") and (o["collectionGroup"], o["fieldPath"]) not in have
    ]


def has_binding(policy: Mapping[str, Any], role: str, member: str) -> bool:
    """An unconditional binding of `member` to `role` (conditional ones do not count)."""
    return any(
        b.get("role") == role and member in b.get("members", []) and not b.get("condition")
        for b in policy.get("bindings", [])
    )


def fingerprint(directory: Path | None, words: Sequence[str]) -> str:
    digest = hashlib.sha256()
    if directory is not None:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for word in words:
        digest.update(b"\1" + word.encode())
    return digest.hexdigest()[:40]


def _stdin_json() -> Any:
    text = sys.stdin.read().strip()
    return json.loads(text) if text else []


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "indexes" and len(rest) == 1:
        lines = missing_indexes(json.loads(Path(rest[0]).read_text()), _stdin_json())
    elif command == "ttls" and len(rest) == 1:
        lines = missing_ttls(json.loads(Path(rest[0]).read_text()), _stdin_json())
    elif command == "has-binding" and len(rest) == 2:
        policy = _stdin_json()
        return 0 if isinstance(policy, dict) and has_binding(policy, rest[0], rest[1]) else 1
    elif command == "fingerprint" and rest:
        directory = Path(rest[0]) if rest[0] != "-" else None
        lines = [fingerprint(directory, rest[1:])]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
