"""The pieces deploy.sh is made of: the config check, the plans it draws from gcloud's JSON,
the Firestore rules release, and what goes into the two Cloud Run images."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from deploy.config import ConfigProblems, load, shell_assignments
from deploy.firestore_rules import RulesApi, session_for
from deploy.plan import fingerprint, has_binding, missing_indexes, missing_ttls
from tests.deploy_fakes import FakeRules, serving

ROOT = Path(__file__).resolve().parent.parent
GOOD = """
project = "byte-clips-prod"
region = "europe-west1"
firestore_location = "nam5"
twitch_client_id = "abcdefghijklmnopqrstuvwxyz0123"
twitch_broadcaster_id = "12345"
twitch_bot_user_id = "67890"
parts = ["clips", "app", "clips"]
[secrets]
twitch_client_secret = "secret.txt"
"""


def test_config_paths_are_from_its_folder_and_values_come_out_shell_quoted(tmp_path):
    (tmp_path / "secret.txt").write_text("s3cr3t; rm -rf /\n")
    (tmp_path / "config.toml").write_text(GOOD)
    config = load(tmp_path / "config.toml")
    assert config.parts == ("clips", "app")
    assert config.secrets.twitch_client_secret == (tmp_path / "secret.txt").resolve()
    out = shell_assignments(config)
    values = dict(line.split("=", 1) for line in out.splitlines())
    assert values["cfg_part_clips"] == "1" and values["cfg_part_vision"] == "0"
    assert shlex.split(values["cfg_secret_file_twitch_client_secret"]) == [
        str(tmp_path / "secret.txt")
    ]
    assert "s3cr3t" not in out  # a path, never the value


def test_every_problem_is_named_at_once_with_its_fix(tmp_path):
    (tmp_path / "config.toml").write_text(
        GOOD.replace('region = "europe-west1"\n', "")
        .replace('"12345"', '"bytestreamer"')
        .replace('parts = ["clips", "app", "clips"]', "parts = []\nregoin = 'x'")
    )
    with pytest.raises(ConfigProblems) as caught:
        load(tmp_path / "config.toml")
    fields = [p.field for p in caught.value.problems]
    assert sorted(fields) == sorted(
        ["region", "twitch_broadcaster_id", "parts", "regoin", "secrets.twitch_client_secret"]
    )
    report = caught.value.report()
    assert "region is required. Fix: set region" in report
    assert "twitch_broadcaster_id has the wrong form. Fix: use the channel's numeric" in report
    assert "regoin is not a setting this script knows" in report


def test_an_oidc_secrets_file_is_checked_without_quoting_its_secrets(tmp_path):
    oidc = tmp_path / "secrets.toml"
    oidc.write_text(
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
        'cookie_secret = "cookie-5ec"\n[auth.google]\nclient_id = "id"\n'
        'client_secret = "very-secret-77"\n'
    )
    (tmp_path / "secret.txt").write_text("x")
    (tmp_path / "config.toml").write_text(
        GOOD.replace("[secrets]", 'app_login = "oidc"\n[secrets]')
        + 'app_oidc_secrets = "secrets.toml"\n'
    )
    with pytest.raises(ConfigProblems) as caught:
        load(tmp_path / "config.toml")
    report = caught.value.report()
    assert "secrets.app_oidc_secrets" in report and "server_metadata_url" in report
    assert "very-secret-77" not in report and "cookie-5ec" not in report
    oidc.write_text(
        oidc.read_text() + 'server_metadata_url = "https://accounts.google.com/.well-known/x"\n'
    )
    with pytest.raises(ConfigProblems, match="redirect_uri must be https://"):
        load(tmp_path / "config.toml")


def test_config_command_exits_2_naming_the_problem(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "deploy.config", str(tmp_path / "missing.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "not found: copy deploy/config.example.toml" in done.stderr


def test_index_plan_ignores_firestores_own_name_field_and_state():
    wanted = {
        "indexes": [
            {
                "collectionGroup": "clip_jobs",
                "queryScope": "COLLECTION",
                "fields": [
                    {"fieldPath": "status", "order": "ASCENDING"},
                    {"fieldPath": "updated_at", "order": "DESCENDING"},
                ],
            },
            {
                "collectionGroup": "action_queue",
                "queryScope": "COLLECTION",
                "fields": [
                    {"fieldPath": "status", "order": "ASCENDING"},
                    {"fieldPath": "created_at", "order": "ASCENDING"},
                ],
            },
        ]
    }
    existing = [
        {
            "name": "projects/p/databases/(default)/collectionGroups/clip_jobs/indexes/CICAgJim",
            "queryScope": "COLLECTION",
            "state": "CREATING",
            "fields": [
                {"fieldPath": "status", "order": "ASCENDING"},
                {"fieldPath": "updated_at", "order": "DESCENDING"},
                {"fieldPath": "__name__", "order": "DESCENDING"},
            ],
        }
    ]
    assert missing_indexes(wanted, existing) == [
        "action_queue\tCOLLECTION\t--field-config=field-path=status,order=ascending\t"
        "--field-config=field-path=created_at,order=ascending"
    ]


def test_ttl_plan_and_iam_bindings():
    wanted = {"fieldOverrides": [{"collectionGroup": "g", "fieldPath": "expires_at", "ttl": True}]}
    name = "projects/p/databases/(default)/collectionGroups/g/fields/expires_at"
    assert missing_ttls(wanted, []) == ["g\texpires_at"]
    assert missing_ttls(wanted, [{"name": name, "ttlConfig": {"state": "NEEDS_REPAIR"}}]) == [
        "g\texpires_at"
    ]
    assert missing_ttls(wanted, [{"name": name, "ttlConfig": {"state": "ACTIVE"}}]) == []
    member = "serviceAccount:a@p.iam.gserviceaccount.com"
    policy = {"bindings": [{"role": "roles/run.invoker", "members": [member]}]}
    assert has_binding(policy, "roles/run.invoker", member)
    assert not has_binding(policy, "roles/datastore.user", member)
    conditional = {
        "bindings": [{"role": "roles/run.invoker", "members": [member], "condition": {}}]
    }
    conditional["bindings"][0]["condition"] = {"expression": "request.time < x"}
    assert not has_binding(conditional, "roles/run.invoker", member)


def test_fingerprint_follows_content_and_words(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    first = fingerprint(tmp_path, ["--memory=512Mi"])
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert fingerprint(tmp_path, ["--memory=512Mi"]) == first
    assert fingerprint(tmp_path, ["--memory=1Gi"]) != first
    (tmp_path / "a.py").write_text("x = 2\n")
    assert fingerprint(tmp_path, ["--memory=512Mi"]) != first
    assert re.fullmatch(r"[0-9a-f]{40}", first)


def test_rules_are_released_once_then_left_alone_then_updated():
    source = (ROOT / "deploy/firestore.rules").read_text()
    with serving(FakeRules()) as server:
        assert isinstance(server, FakeRules)
        api = RulesApi(session_for("tok", "p"), "p", server.url)
        assert api.release(source) == "released"
        assert api.release(source) == "unchanged"
        assert len(server.writes()) == 2  # one ruleset, one release
        assert api.release(source + "\n") == "updated"
        assert server.released_source("p") == source + "\n"
        assert {h.get("x-goog-user-project") for h in server.headers_seen} == {"p"}
        broken = RulesApi(requests.Session(), "p", server.url + "/nowhere")
        assert broken.released_source() == (False, [])


def test_the_rules_deny_all_client_access():
    rules = (ROOT / "deploy/firestore.rules").read_text()
    statements = re.findall(r"allow [^;]*;", rules)
    assert statements == ["allow read, write: if false;"]
    assert "match /{document=**}" in rules


def test_app_container_streamlit_settings_hide_error_details(tmp_path):
    """Streamlit in the image runs from /app with deploy/app.streamlit.toml as its
    .streamlit/config.toml: read it the way Streamlit does."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(
        (ROOT / "deploy/app.streamlit.toml").read_text()
    )
    probe = (
        "import json; from streamlit import config; config.get_config_options(force_reparse=True);"
        "print(json.dumps({k: config.get_option(k) for k in ('client.showErrorDetails', "
        "'secrets.files', 'server.port', 'server.headless', 'browser.gatherUsageStats')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    options = json.loads(done.stdout.strip().splitlines()[-1])
    assert options == {
        "client.showErrorDetails": "none",
        "secrets.files": ["/var/secrets/streamlit/secrets.toml"],
        "server.port": 8080,
        "server.headless": True,
        "browser.gatherUsageStats": False,
    }


@pytest.mark.parametrize("kind", ["chatbot", "app"])
def test_images_are_python_312_and_copy_only_what_exists(kind):
    dockerfile = (ROOT / f"deploy/{kind}.Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim$", dockerfile, flags=re.M)
    for source in re.findall(r"^COPY (\S+) ", dockerfile, flags=re.M):
        assert (ROOT / source).exists(), source
    assert "USER nobody" in dockerfile
    command = json.loads(re.findall(r"^CMD (.*)$", dockerfile, flags=re.M)[-1])
    assert command == (
        ["python", "-m", "chatbot"]
        if kind == "chatbot"
        else ["streamlit", "run", "streamlit_app/app.py"]
    )


def test_ttl_fields_are_ones_the_code_writes():
    """A TTL policy on a field nobody writes deletes nothing: each one must be written by the
    store module that owns its collection."""
    overrides = json.loads((ROOT / "firestore.indexes.json").read_text())["fieldOverrides"]
    assert overrides
    stores = {p.read_text() for p in (ROOT / "shared/store").glob("*.py")}
    for override in overrides:
        group = f'= "{override["collectionGroup"]}"'
        owners = [s for s in stores if any(group in line for line in s.splitlines())]
        assert owners, override
        field = override["fieldPath"]
        assert any(f'"{field}":' in s or f'["{field}"] =' in s for s in owners), override
