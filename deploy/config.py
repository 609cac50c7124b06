"""The deployment's settings file, checked before deploy.sh runs a single command.

    python -m deploy.config deploy/config.toml     # prints shell assignments, or the problems

Every problem is reported at once, each naming the setting and how to fix it, and the exit
status is 2. Secret values never pass through here: `[secrets]` names files, which are checked
to exist and to be non-empty (the OIDC file is also parsed, and only its non-secret
`redirect_uri` is ever printed).
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.domain.errors import FieldProblem
from shared.domain.validation import field_problems

# Secret Manager's limit for one version's payload.
MAX_SECRET_BYTES = 64 * 1024
MULTI_REGIONS = ("nam5", "eur3")


class Part(StrEnum):
    """What can be deployed; Firestore (database, rules, indexes, TTL) always is."""

    CLIPS = "clips"  # the clip functions, tune_chat_detection + their scheduler jobs
    VISION = "vision"  # vision_ingest
    CHATBOT = "chatbot"
    APP = "app"


class AppLogin(StrEnum):
    PASSWORD = "password"
    OIDC = "oidc"


# What to write for each setting: shown when it is missing or refused.
FIXES: dict[str, str] = {
    "project": 'set project = "your-project-id" (the id, not the name: gcloud projects list)',
    "region": 'set region = "europe-west1" (a Cloud Run and Cloud Functions region)',
    "firestore_location": (
        'set firestore_location = "eur3" (or "nam5", or a region such as "europe-west1"); '
        "it cannot change once the database exists"
    ),
    "twitch_client_id": (
        "copy the Client ID of your application at dev.twitch.tv/console/apps "
        '(twitch_client_id = "...")'
    ),
    "twitch_broadcaster_id": (
        "use the channel's numeric user id, not its login (Twitch's Get Users endpoint "
        'gives it), e.g. twitch_broadcaster_id = "12345"'
    ),
    "twitch_bot_user_id": (
        'use the bot account\'s numeric user id, e.g. twitch_bot_user_id = "67890"'
    ),
    "parts": 'list what to deploy, e.g. parts = ["clips", "vision", "chatbot", "app"]',
    "app_login": 'set app_login = "password" (DASHBOARD_PASSWORD) or "oidc" (st.login)',
    "app_url": "leave app_url out, or set the https:// address mapped to the app, no path",
    "secrets": "under [secrets], give the path of a file holding the value",
}

_SECRET_KEYS = (
    "twitch_client_secret",
    "vision_ingest_token",
    "gemini_api_key",
    "dashboard_password",
    "app_oidc_secrets",
    "discord_webhook_url",
)


def _fix(field: str) -> str:
    return FIXES.get(field.split(".", 1)[0], "see deploy/config.example.toml")


class Secrets(BaseModel):
    """Files holding secret values. A secret without a file keeps the value it has in Secret
    Manager, or is asked for on the terminal (or generated, for the vision token)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    twitch_client_secret: Path | None = None
    vision_ingest_token: Path | None = None
    gemini_api_key: Path | None = None
    dashboard_password: Path | None = None
    app_oidc_secrets: Path | None = None
    discord_webhook_url: Path | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        path = path.expanduser()
        if not path.is_file():
            raise ValueError(f"{path} is not a readable file")
        size = path.stat().st_size
        if size == 0:
            raise ValueError(f"{path} is empty")
        if size > MAX_SECRET_BYTES:
            raise ValueError(f"{path} is over Secret Manager's 64 KiB")
        return path.resolve()


class DeployConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str = Field(pattern=r"^[a-z]+-[a-z]+[0-9]+$")
    firestore_location: str
    twitch_client_id: str = Field(pattern=r"^[a-z0-9]{16,64}$")
    twitch_broadcaster_id: str = Field(pattern=r"^[0-9]{1,20}$")
    twitch_bot_user_id: str = Field(pattern=r"^[0-9]{1,20}$")
    parts: tuple[Part, ...] = Field(min_length=1)
    app_login: AppLogin = AppLogin.PASSWORD
    app_url: str | None = Field(default=None, pattern=r"^https://[a-z0-9.-]+[a-z0-9]$")
    secrets: Secrets = Secrets()

    @field_validator("firestore_location")
    @classmethod
    def _location(cls, value: str) -> str:
        if value in MULTI_REGIONS or re.fullmatch(r"[a-z]+-[a-z]+[0-9]+", value):
            return value
        raise ValueError(f"must be {' or '.join(MULTI_REGIONS)} or a region, got {value!r}")

    @field_validator("parts", mode="after")
    @classmethod
    def _distinct(cls, parts: tuple[Part, ...]) -> tuple[Part, ...]:
        return tuple(dict.fromkeys(parts))

    @model_validator(mode="after")
    def _oidc_file(self) -> DeployConfig:
        path = self.secrets.app_oidc_secrets
        if Part.APP in self.parts and self.app_login is AppLogin.OIDC and path is not None:
            problem = oidc_problem(path)
            if problem:
                raise ValueError(f"secrets.app_oidc_secrets: {problem}")
        return self

    def needs(self, part: Part) -> bool:
        return part in self.parts


def oidc_problem(path: Path) -> str | None:
    """What is wrong with an st.login secrets.toml, in words that quote none of its values
    except `redirect_uri` (public: it is the app's own address)."""
    try:
        auth = tomllib.loads(path.read_text(encoding="utf-8")).get("auth")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return f"{path} is not valid TOML"
    if not isinstance(auth, Mapping) or not auth:
        return f"{path} has no [auth] section"
    missing = [k for k in ("redirect_uri", "cookie_secret") if not auth.get(k)]
    providers = [auth] if "client_id" in auth else [v for v in auth.values() if isinstance(v, dict)]
    if not providers:
        missing.append("client_id (under [auth] or [auth.PROVIDER])")
    for provider in providers[:1]:
        missing += [
            k for k in ("client_id", "client_secret", "server_metadata_url") if not provider.get(k)
        ]
    if missing:
        return f"{path}: [auth] lacks {', '.join(missing)}"
    redirect = str(auth["redirect_uri"])
    if not re.fullmatch(r"https://[^/\s]+/oauth2callback", redirect):
        return f"[auth] redirect_uri must be https://<app address>/oauth2callback, got {redirect!r}"
    return None


def oidc_redirect_uri(path: Path) -> str:
    auth = tomllib.loads(path.read_text(encoding="utf-8"))["auth"]
    return str(auth["redirect_uri"])


def _rewrite(field: str, error: Any, message: str) -> str:
    if error["type"] == "string_pattern_mismatch":
        return "has the wrong form"
    if error["type"] == "enum":
        return f"must be one of {error['ctx']['expected']}"
    if error["type"] == "extra_forbidden":
        return "is not a setting this script knows (a typo?)"
    return message


def load(path: Path) -> DeployConfig:
    """The validated settings, or ConfigProblems naming every bad or missing one."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigProblems(
            path, [FieldProblem("config", "not found: copy deploy/config.example.toml there")]
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigProblems(
            path, [FieldProblem("config", f"is not valid TOML ({error})")]
        ) from None
    secrets = raw.get("secrets")
    if isinstance(secrets, dict):
        base = path.resolve().parent
        raw["secrets"] = {
            key: str(base / Path(value).expanduser()) if isinstance(value, str) else value
            for key, value in secrets.items()
        }
    try:
        return DeployConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigProblems(path, field_problems(error, rewrite=_rewrite)) from None


class ConfigProblems(Exception):
    def __init__(self, path: Path, problems: list[FieldProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        lines = [f"deploy: {self.path} is not usable; nothing was run:"]
        for problem in self.problems:
            fix = "" if problem.field == "config" else f" Fix: {_fix(problem.field)}."
            lines.append(f"  - {problem.field} {problem.message}.{fix}")
        return "\n".join(lines)


def shell_assignments(config: DeployConfig) -> str:
    """`cfg_*` variables for deploy.sh, every value shell-quoted."""
    values: dict[str, str] = {
        "project": config.project,
        "region": config.region,
        "firestore_location": config.firestore_location,
        "twitch_client_id": config.twitch_client_id,
        "twitch_broadcaster_id": config.twitch_broadcaster_id,
        "twitch_bot_user_id": config.twitch_bot_user_id,
        "app_login": config.app_login.value,
        "app_url": config.app_url or "",
        "oidc_redirect_uri": "",
    }
    for part in Part:
        values[f"part_{part.value}"] = "1" if config.needs(part) else "0"
    for key in _SECRET_KEYS:
        path = getattr(config.secrets, key)
        values[f"secret_file_{key}"] = str(path) if path else ""
    oidc = config.secrets.app_oidc_secrets
    if config.needs(Part.APP) and config.app_login is AppLogin.OIDC and oidc is not None:
        values["oidc_redirect_uri"] = oidc_redirect_uri(oidc)
    return "".join(f"cfg_{name}={shlex.quote(value)}\n" for name, value in values.items())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m deploy.config CONFIG.toml", file=sys.stderr)
        return 2
    try:
        config = load(Path(args[0]))
    except ConfigProblems as problems:
        print(problems.report(), file=sys.stderr)
        return 2
    sys.stdout.write(shell_assignments(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
