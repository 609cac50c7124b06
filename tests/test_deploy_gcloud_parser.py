"""Every gcloud command deploy.sh runs is accepted by the real gcloud's argument parser.

deploy.sh runs once against the recording stand-in (tests/deploy_fakes.py); each distinct
command shape it recorded (command words and flag names) is then given to the real gcloud with
an empty configuration folder and no account. A command the parser accepts stops at "You do not
currently have an active account selected"; an unknown flag or a bad value stops earlier, at
"unrecognized arguments" or an argument error. gcloud is kept off the network (no metadata
server check, no update check, no usage reporting).
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.deploy_fakes import FakeRules, FakeScheduler, serving
from tests.test_deploy_script import Deployment, run_unattended

GCLOUD = shutil.which("gcloud", path="/usr/bin:/usr/local/bin:/usr/lib/google-cloud-sdk/bin")
NO_ACCOUNT = "You do not currently have an active account selected"

pytestmark = pytest.mark.skipif(GCLOUD is None, reason="the real gcloud is not installed")


def shape(argv: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    words = tuple(a for a in argv if not a.startswith("-"))[:3]
    flags = tuple(sorted({a.split("=", 1)[0] for a in argv if a.startswith("-")}))
    return words, flags


def parse_with_real_gcloud(argv: list[str], config_dir: Path) -> tuple[int, str]:
    assert GCLOUD is not None
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(config_dir),
        "CLOUDSDK_CONFIG": str(config_dir / f"gcloud-{os.getpid()}-{time.monotonic_ns()}"),
        "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
        "CLOUDSDK_SURVEY_DISABLE_PROMPTS": "true",
    }
    done = run_unattended([GCLOUD, *argv], env, timeout=60)
    return done.returncode, done.stdout + done.stderr


def accepted(argv: list[str], code: int, output: str) -> bool:
    if "unrecognized arguments" in output or "argument" in output.split("\n", 1)[0]:
        return False
    if argv[:2] == ["auth", "list"]:  # lists accounts; with none it says so and succeeds
        return code == 0
    return NO_ACCOUNT in output


@pytest.mark.timeout(600)
def test_every_recorded_gcloud_command_passes_the_real_parser(tmp_path):
    with serving(FakeScheduler()) as scheduler, serving(FakeRules()) as rules:
        assert isinstance(scheduler, FakeScheduler) and isinstance(rules, FakeRules)
        deployment = Deployment(tmp_path / "deployment", scheduler, rules)
        deployment.write_config()
        run = deployment.run()
    assert run.code == 0, run.err
    commands = [c["argv"] for c in run.calls]
    distinct = list({shape(argv): argv for argv in commands}.values())
    assert len(commands) > 80 and len(distinct) > 40
    # A negative control: the check tells an unknown flag apart.
    bad = ["functions", "deploy", "x", "--gen2", "--no-such-flag=1"]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda a: parse_with_real_gcloud(a, tmp_path), [bad, *distinct]))
    elapsed = time.monotonic() - started
    print(f"\nreal gcloud parsed {len(distinct)} distinct commands in {elapsed:.0f} s")
    (bad_code, bad_output), *checked = results
    assert "unrecognized arguments" in bad_output and bad_code != 0
    refused = [
        (" ".join(argv), output.strip().splitlines()[:2])
        for argv, (code, output) in zip(distinct, checked, strict=True)
        if not accepted(argv, code, output)
    ]
    assert refused == []
