#!/usr/bin/env bash
# Deploys Byte Clips to Google Cloud. Needs gcloud, logged in, and GOOGLE_CLOUD_PROJECT.
# Today it creates the composite Firestore indexes the queries need (firestore.indexes.json);
# the functions, Cloud Scheduler jobs, chat bot and app are added here as their issues land.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${GOOGLE_CLOUD_PROJECT:?set GOOGLE_CLOUD_PROJECT to the Google Cloud project id}"
command -v gcloud >/dev/null || { echo "deploy: gcloud is needed" >&2; exit 1; }

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
  echo "deploy: index on $group"
  # shellcheck disable=SC2086
  gcloud firestore indexes composite create --project="$GOOGLE_CLOUD_PROJECT" \
    --collection-group="$group" --query-scope=COLLECTION $fields --async \
    || echo "deploy: index on $group exists already or is being built"
done
