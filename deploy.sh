#!/usr/bin/env bash
# Deploys Byte Clips' backend to Google Cloud. Needs gcloud (logged in) and:
#   GOOGLE_CLOUD_PROJECT   the project id
#   REGION                 e.g. europe-west1 (functions, scheduler)
#   FIRESTORE_LOCATION     the Firestore database location, e.g. eur3 or europe-west1
#   TWITCH_CLIENT_ID       the Twitch application's client id
# and a Secret Manager secret `twitch-client-secret` holding the client secret.
# It creates the Firestore composite indexes, the three clip functions (gen2) and the two
# Cloud Scheduler jobs. The chat bot, the operations app and vision_ingest are not deployed
# here yet (their issues add them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${GOOGLE_CLOUD_PROJECT:?set GOOGLE_CLOUD_PROJECT to the Google Cloud project id}"
: "${REGION:?set REGION, e.g. europe-west1}"
: "${FIRESTORE_LOCATION:?set FIRESTORE_LOCATION, the Firestore database location}"
: "${TWITCH_CLIENT_ID:?set TWITCH_CLIENT_ID}"
command -v gcloud >/dev/null || { echo "deploy: gcloud is needed" >&2; exit 1; }
project=(--project="$GOOGLE_CLOUD_PROJECT")

echo "deploy: Firestore composite indexes (firestore.indexes.json)"
python3 - <<'PY' | while IFS= read -r line; do
import json
for index in json.load(open("firestore.indexes.json"))["indexes"]:
    fields = " ".join(
        f"--field-config=field-path={f['fieldPath']},order={f['order'].lower()}"
        for f in index["fields"]
    )
    print(f"{index['collectionGroup']} {fields}")
PY
  group="${line%% *}"
  fields="${line#* }"
  # shellcheck disable=SC2086
  gcloud firestore indexes composite create "${project[@]}" --collection-group="$group" \
    --query-scope=COLLECTION $fields --async 2>/dev/null \
    || echo "deploy: index on $group exists already"
done

# Functions source: functions/ plus the shared package next to main.py.
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cp functions/*.py functions/requirements.txt "$build/"
cp -r shared "$build/shared"
find "$build" -name __pycache__ -prune -exec rm -rf {} +

common=(
  "${project[@]}" --gen2 --runtime=python312 --region="$REGION" --source="$build"
  --set-env-vars="GOOGLE_CLOUD_PROJECT=$GOOGLE_CLOUD_PROJECT,TWITCH_CLIENT_ID=$TWITCH_CLIENT_ID"
  --set-secrets="TWITCH_CLIENT_SECRET=twitch-client-secret:latest"
)

echo "deploy: on_clip_job_written (Firestore document.v1.written on clip_jobs/{job_id})"
# Concurrency > 1 lets one instance confirm several new clips with shared Get Clips calls.
gcloud functions deploy on-clip-job-written "${common[@]}" \
  --entry-point=on_clip_job_written \
  --trigger-location="$FIRESTORE_LOCATION" \
  --trigger-event-filters="type=google.cloud.firestore.document.v1.written" \
  --trigger-event-filters="database=(default)" \
  --trigger-event-filters-path-pattern="document=clip_jobs/{job_id}" \
  --retry --timeout=120s --cpu=1 --memory=512Mi --concurrency=20

for fn in sweep_clip_jobs validate_tokens; do
  echo "deploy: $fn (HTTP, for Cloud Scheduler)"
  gcloud functions deploy "${fn//_/-}" "${common[@]}" --entry-point="$fn" \
    --trigger-http --no-allow-unauthenticated --timeout=300s
done

caller="byte-clips-scheduler@$GOOGLE_CLOUD_PROJECT.iam.gserviceaccount.com"
gcloud iam service-accounts describe "$caller" "${project[@]}" >/dev/null 2>&1 \
  || gcloud iam service-accounts create byte-clips-scheduler "${project[@]}" \
       --display-name="Byte Clips scheduler"
schedule_job() {
  local name="$1" schedule="$2" fn="$3" url
  url="$(gcloud functions describe "$fn" "${project[@]}" --gen2 --region="$REGION" \
    --format='value(serviceConfig.uri)')"
  gcloud run services add-iam-policy-binding "$fn" "${project[@]}" --region="$REGION" \
    --member="serviceAccount:$caller" --role=roles/run.invoker >/dev/null
  if gcloud scheduler jobs describe "$name" "${project[@]}" --location="$REGION" >/dev/null 2>&1; then
    verb=update
  else
    verb=create
  fi
  echo "deploy: scheduler job $name ($schedule) -> $fn"
  gcloud scheduler jobs "$verb" http "$name" "${project[@]}" --location="$REGION" \
    --schedule="$schedule" --uri="$url" --http-method=POST \
    --headers="Content-Type=application/json" --message-body='{}' \
    --oidc-service-account-email="$caller" --oidc-token-audience="$url"
}
schedule_job sweep-clip-jobs "* * * * *" sweep-clip-jobs
schedule_job validate-tokens "0 * * * *" validate-tokens
echo "deploy: done"
