"""The Cloud Scheduler jobs (docs/architecture.md §1), created or updated through
google-cloud-scheduler.

    gcloud auth print-access-token | python -m deploy.scheduler_jobs --project P --region R \\
        --service-account byte-clips-scheduler@P.iam.gserviceaccount.com \\
        --sweep-uri https://... --validate-uri https://... [--tune-uri https://...]

`--tune-uri` adds the daily after-stream chat tuning (`tune_chat_detection`).

Each job is read first and written only when it differs from what is wanted: a missing job is
created, a different one is updated with a field mask naming exactly what differs, a matching
one is left alone, so a second run changes nothing. Both call their function with an OIDC
token of the scheduler's own service account (the functions are not public). The access token
comes on standard input, never as an argument. Prints one line per job.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from google.api_core.client_options import ClientOptions
from google.api_core.exceptions import GoogleAPICallError, NotFound
from google.cloud import scheduler_v1
from google.oauth2.credentials import Credentials
from google.protobuf import field_mask_pb2

API_ENV = "BYTECLIPS_SCHEDULER_API"  # a local fake in tests
TIME_ZONE = "Etc/UTC"
HEADERS = {"Content-Type": "application/json"}
BODY = b"{}"


@dataclass(frozen=True)
class ScheduledCall:
    job_id: str
    schedule: str
    description: str
    attempt_deadline: timedelta
    retry_count: int


# The functions time out at 300 s; a sweep missed is redone a minute later, so no retries,
# while a failed hourly token check is worth trying again.
SWEEP = ScheduledCall(
    "sweep-clip-jobs",
    "* * * * *",
    "Byte Clips: re-arm due retries, expire candidates, finish stale jobs (every minute)",
    timedelta(seconds=300),
    0,
)
VALIDATE = ScheduledCall(
    "validate-tokens",
    "0 * * * *",
    "Byte Clips: validate and refresh Twitch tokens (hourly)",
    timedelta(seconds=300),
    2,
)
# Daily, early morning UTC, when most streams are over; a stream that failed is tried again.
TUNE = ScheduledCall(
    "tune-chat-detection",
    "30 7 * * *",
    "Byte Clips: tune chat detection to the moments viewers clipped in ended streams (daily)",
    timedelta(seconds=300),
    2,
)


def desired_job(parent: str, call: ScheduledCall, uri: str, caller: str) -> scheduler_v1.Job:
    return scheduler_v1.Job(
        name=f"{parent}/jobs/{call.job_id}",
        description=call.description,
        schedule=call.schedule,
        time_zone=TIME_ZONE,
        attempt_deadline=call.attempt_deadline,
        retry_config=scheduler_v1.RetryConfig(retry_count=call.retry_count),
        http_target=scheduler_v1.HttpTarget(
            uri=uri,
            http_method=scheduler_v1.HttpMethod.POST,
            headers=HEADERS,
            body=BODY,
            oidc_token=scheduler_v1.OidcToken(service_account_email=caller, audience=uri),
        ),
    )


def differences(current: scheduler_v1.Job, wanted: scheduler_v1.Job) -> list[str]:
    """The update-mask paths where `current` is not what is wanted. Fields Cloud Scheduler
    fills in itself (state, a User-Agent header, retry defaults) are not differences."""
    paths = []
    for path in ("description", "schedule", "time_zone", "attempt_deadline"):
        if getattr(current, path) != getattr(wanted, path):
            paths.append(path)
    if current.retry_config.retry_count != wanted.retry_config.retry_count:
        paths.append("retry_config.retry_count")
    have, want = current.http_target, wanted.http_target
    same_target = (
        have.uri == want.uri
        and have.http_method == want.http_method
        and have.body == want.body
        and all(have.headers.get(k) == v for k, v in want.headers.items())
        and have.oidc_token.service_account_email == want.oidc_token.service_account_email
        and (have.oidc_token.audience or have.uri) == want.oidc_token.audience
    )
    if not same_target:
        paths.append("http_target")
    return paths


def ensure_job(client: scheduler_v1.CloudSchedulerClient, wanted: scheduler_v1.Job) -> str:
    """`created`, `updated (paths)` or `unchanged`."""
    try:
        current = client.get_job(name=wanted.name)
    except NotFound:
        parent = wanted.name.rsplit("/jobs/", 1)[0]
        client.create_job(parent=parent, job=wanted)
        return "created"
    paths = differences(current, wanted)
    if not paths:
        return "unchanged"
    client.update_job(job=wanted, update_mask=field_mask_pb2.FieldMask(paths=paths))
    return f"updated ({', '.join(paths)})"


def ensure_jobs(
    client: scheduler_v1.CloudSchedulerClient,
    *,
    project: str,
    region: str,
    caller: str,
    sweep_uri: str,
    validate_uri: str,
    tune_uri: str | None = None,
) -> list[tuple[str, str]]:
    parent = f"projects/{project}/locations/{region}"
    calls = [(SWEEP, sweep_uri), (VALIDATE, validate_uri)]
    if tune_uri:
        calls.append((TUNE, tune_uri))
    return [
        (call.job_id, ensure_job(client, desired_job(parent, call, uri, caller)))
        for call, uri in calls
    ]


def make_client(
    token: str, project: str, endpoint: str | None
) -> scheduler_v1.CloudSchedulerClient:
    credentials = Credentials(token=token, quota_project_id=project)
    return scheduler_v1.CloudSchedulerClient(
        credentials=credentials,
        transport="rest",
        client_options=ClientOptions(api_endpoint=endpoint) if endpoint else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.scheduler_jobs")
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--service-account", required=True, help="the OIDC token's identity")
    parser.add_argument("--sweep-uri", required=True)
    parser.add_argument("--validate-uri", required=True)
    parser.add_argument("--tune-uri", help="tune_chat_detection's URL (daily)")
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip()
    if not token:
        print("scheduler: no access token on standard input", file=sys.stderr)
        return 2
    client = make_client(token, args.project, os.environ.get(API_ENV) or None)
    try:
        results = ensure_jobs(
            client,
            project=args.project,
            region=args.region,
            caller=args.service_account,
            sweep_uri=args.sweep_uri,
            validate_uri=args.validate_uri,
            tune_uri=args.tune_uri,
        )
    except GoogleAPICallError as error:
        print(f"scheduler: {type(error).__name__}: {error.message}", file=sys.stderr)
        return 1
    for job_id, result in results:
        print(f"scheduler job {job_id}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
