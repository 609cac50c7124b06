"""The deploy inputs stay in step with the code: function pins, entry points, indexes."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[name.lower()] = version
    return found


def test_function_requirements_are_the_repository_pins():
    functions, repository = (
        pins(ROOT / "functions/requirements.txt"),
        pins(ROOT / "requirements.txt"),
    )
    assert functions, "functions/requirements.txt pins nothing"
    for name, version in functions.items():
        assert repository.get(name) == version, f"{name}: {version} vs {repository.get(name)}"


def test_function_imports_are_pinned_for_the_functions():
    needed = {
        "functions-framework",
        "google-cloud-firestore",
        "requests",
        "pydantic",
        "google-genai",
    }
    assert needed <= set(pins(ROOT / "functions/requirements.txt"))


def test_deploy_names_every_entry_point_of_main():
    main = (ROOT / "functions/main.py").read_text()
    entry_points = re.findall(r"^def ([a-z]\w*)\(", main, flags=re.M)  # `_helpers` are not
    deploy = (ROOT / "deploy.sh").read_text()
    assert set(entry_points) == {
        "on_clip_job_written",
        "sweep_clip_jobs",
        "validate_tokens",
        "tune_chat_detection",
        "vision_ingest",
    }
    for name in entry_points:
        assert name in deploy


def test_indexes_file_is_valid():
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())["indexes"]
    assert {i["collectionGroup"] for i in indexes} == {"action_queue", "clip_jobs"}
