#!/usr/bin/env bash
# Deploys Byte Clips to Google Cloud, idempotently, one service account per part.
#
#   bash deploy.sh [--config deploy/config.toml] [--dry-run]
#
# Settings come from a small TOML file (deploy/config.example.toml), validated before any
# command runs. Secret values come from files named there or from the terminal, and reach
# gcloud on standard input only: never on a command line, in gcloud's environment or in the
# output. Steps (README "Deployment"): APIs; Firestore database, rules, indexes, TTL; service
# accounts and their roles; secrets; the clip functions on_clip_job_written, sweep_clip_jobs,
# validate_tokens, tune_chat_detection and the Cloud Scheduler jobs (part "clips");
# vision_ingest ("vision"); the chat bot ("chatbot") and the operations app ("app") on Cloud
# Run. Every step first asks what exists and changes only what differs, so a second run
# changes nothing. --dry-run prints every command, queries included, and runs none (every
# query is taken as "nothing there").
# Needs gcloud (logged in) and the repository's Python packages (bash local/setup.sh).

# The cfg_* settings are assigned by the eval of deploy.config's output, below.
# shellcheck disable=SC2154
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

config=deploy/config.toml
dry_run=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --config) config="${2:?--config needs a file}"; shift 2 ;;
    --config=*) config="${1#*=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy: unknown argument $1 (see bash deploy.sh --help)" >&2; exit 2 ;;
  esac
done

py="${BYTECLIPS_PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
if ! "$py" -c 'import pydantic, google.cloud.scheduler_v1' 2>/dev/null; then
  echo "deploy: $py lacks the repository's packages: run bash local/setup.sh" \
    "(or pip install -r requirements.txt), or set BYTECLIPS_PYTHON" >&2
  exit 2
fi

# 1. The settings, all checked before anything runs.
settings="$("$py" -m deploy.config "$config")" || exit 2
eval "$settings"

exec 3>&1 # commands are shown on the original stdout, also from inside $( )
changes=0
show() {
  printf '+' >&3
  printf ' %q' "$@" >&3
  printf '\n' >&3
}
say() { printf 'deploy: %s\n' "$*" >&3; }
die() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}
# A command that changes something: shown, counted, and run unless this is a dry run.
run() {
  show "$@"
  changes=$((changes + 1))
  if [ "$dry_run" = 1 ]; then return 0; fi
  "$@"
}
# A read-only query whose answer is its stdout; a dry run shows it and answers "not there".
ask() {
  if [ "$dry_run" = 1 ]; then
    show "$@"
    return 1
  fi
  "$@" 2>/dev/null
}
# Retried, for IAM bindings on an account created seconds ago.
run_retrying() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if run "$@"; then return 0; fi
    changes=$((changes - 1))
    [ "$attempt" = 5 ] || sleep $((attempt * 5))
  done
  die "gave up after 5 attempts: $1 $2 $3"
}

if [ "$dry_run" = 0 ]; then
  command -v gcloud >/dev/null || die "gcloud is needed: https://cloud.google.com/sdk/docs/install"
  account="$(gcloud auth list --filter=status:ACTIVE --format='value(account)' 2>/dev/null || true)"
  [ -n "$account" ] || die "gcloud has no active account: run gcloud auth login"
else
  say "dry run: every command is printed, none is run; queries are answered 'not there'"
fi

project=(--project="$cfg_project")
region="$cfg_region"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fingerprint() { "$py" -m deploy.plan fingerprint "$@"; }
email() { printf '%s@%s.iam.gserviceaccount.com' "$1" "$cfg_project"; }
sa_functions="$(email byte-clips-functions)"
sa_trigger="$(email byte-clips-trigger)"
sa_scheduler="$(email byte-clips-scheduler)"
sa_vision="$(email byte-clips-vision)"
sa_chatbot="$(email byte-clips-chatbot)"
sa_app="$(email byte-clips-app)"
repo="$region-docker.pkg.dev/$cfg_project/byte-clips"
project_number="$(ask gcloud projects describe "$cfg_project" --format='value(projectNumber)')" \
  || project_number=PROJECT_NUMBER

# 2. APIs: only those not enabled yet.
apis=(firestore.googleapis.com firebaserules.googleapis.com secretmanager.googleapis.com
  iam.googleapis.com cloudresourcemanager.googleapis.com)
[ "$cfg_part_clips" = 0 ] || apis+=(cloudfunctions.googleapis.com eventarc.googleapis.com
  pubsub.googleapis.com cloudscheduler.googleapis.com)
[ "$cfg_part_vision" = 0 ] || apis+=(cloudfunctions.googleapis.com)
if [ "$cfg_part_clips$cfg_part_vision$cfg_part_chatbot$cfg_part_app" != 0000 ]; then
  apis+=(run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com
    logging.googleapis.com)
fi
enabled="$(ask gcloud services list --enabled "${project[@]}" --format='value(config.name)')" \
  || enabled=""
missing_apis=()
for api in "${apis[@]}"; do
  case " ${missing_apis[*]-} " in *" $api "*) continue ;; esac
  printf '%s\n' "$enabled" | grep -qx "$api" || missing_apis+=("$api")
done
if [ "${#missing_apis[@]}" -gt 0 ]; then
  run gcloud services enable "${missing_apis[@]}" "${project[@]}" --quiet
else
  say "APIs: all enabled"
fi

# 3. Firestore: the database (native mode), rules that refuse every client, indexes, TTL.
if database="$(ask gcloud firestore databases describe --database='(default)' "${project[@]}" \
  --format='value(type,locationId)')"; then
  read -r db_type db_location <<<"$database"
  [ "$db_type" = FIRESTORE_NATIVE ] \
    || die "the (default) database is $db_type, not Firestore in native mode; use another project"
  [ "$db_location" = "$cfg_firestore_location" ] \
    || die "the database is in $db_location: set firestore_location = \"$db_location\" in $config"
  say "Firestore: (default) database in native mode, $db_location"
else
  run gcloud firestore databases create --database='(default)' \
    --location="$cfg_firestore_location" --type=firestore-native "${project[@]}" --quiet
fi

rules_cmd=("$py" -m deploy.firestore_rules --project="$cfg_project" --rules=deploy/firestore.rules)
if [ "$dry_run" = 1 ]; then
  show gcloud auth print-access-token
  show "${rules_cmd[@]}"
else
  result="$(gcloud auth print-access-token | "${rules_cmd[@]}")"
  say "Firestore rules: $result"
  [ "$result" = unchanged ] || changes=$((changes + 1))
fi

indexes="$(ask gcloud firestore indexes composite list "${project[@]}" --format=json)" \
  || indexes="[]"
while IFS=$'\t' read -r group scope fields; do
  [ -n "$group" ] || continue
  read -r -a field_configs <<<"$fields"
  run gcloud firestore indexes composite create --collection-group="$group" \
    --query-scope="$scope" "${field_configs[@]}" "${project[@]}" --async --quiet
done < <(printf '%s' "$indexes" | "$py" -m deploy.plan indexes firestore.indexes.json)

ttls="$(ask gcloud firestore fields ttls list "${project[@]}" --format=json)" || ttls="[]"
while IFS=$'\t' read -r group field; do
  [ -n "$group" ] || continue
  run gcloud firestore fields ttls update "$field" --collection-group="$group" --enable-ttl \
    "${project[@]}" --async --quiet
done < <(printf '%s' "$ttls" | "$py" -m deploy.plan ttls firestore.indexes.json)

# 4. One service account per part, and its project roles.
accounts=()
[ "$cfg_part_clips" = 0 ] || accounts+=("$sa_functions" "$sa_trigger" "$sa_scheduler")
[ "$cfg_part_vision" = 0 ] || accounts+=("$sa_vision")
[ "$cfg_part_chatbot" = 0 ] || accounts+=("$sa_chatbot")
[ "$cfg_part_app" = 0 ] || accounts+=("$sa_app")
for account in "${accounts[@]}"; do
  if ! ask gcloud iam service-accounts describe "$account" "${project[@]}" \
    --format='value(email)' >/dev/null; then
    name="${account%%@*}"
    run gcloud iam service-accounts create "$name" --display-name="Byte Clips ${name#byte-clips-}" \
      "${project[@]}" --quiet
  fi
done

project_policy="$(ask gcloud projects get-iam-policy "$cfg_project" --format=json)" \
  || project_policy="{}"
grant_project() { # ROLE ACCOUNT
  printf '%s' "$project_policy" | "$py" -m deploy.plan has-binding "$1" "serviceAccount:$2" \
    && return 0
  run_retrying gcloud projects add-iam-policy-binding "$cfg_project" \
    --member="serviceAccount:$2" --role="$1" --condition=None --format=none --quiet
}
for account in "${accounts[@]}"; do
  case "$account" in
    "$sa_trigger") grant_project roles/eventarc.eventReceiver "$account" ;;
    "$sa_scheduler") ;; # run.invoker on its two functions only, below
    *) grant_project roles/datastore.user "$account" ;;
  esac
done

# 5. Secrets: created when missing, a new version only when the value differs from the latest.
#    The version deployed is pinned, so a changed secret redeploys what mounts it.
secret_policy() { # NAME ACCOUNT: grant one account access to one secret
  local policy
  policy="$(ask gcloud secrets get-iam-policy "$1" "${project[@]}" --format=json)" || policy="{}"
  printf '%s' "$policy" | "$py" -m deploy.plan has-binding \
    roles/secretmanager.secretAccessor "serviceAccount:$2" && return 0
  run_retrying gcloud secrets add-iam-policy-binding "$1" --member="serviceAccount:$2" \
    --role=roles/secretmanager.secretAccessor "${project[@]}" --format=none --quiet
}
same_as_latest() { # NAME VALUE: compared without the value leaving this process but on stdin
  [ "$dry_run" = 0 ] || {
    show gcloud secrets versions access latest --secret="$1" "${project[@]}"
    return 1
  }
  cmp -s <(gcloud secrets versions access latest --secret="$1" "${project[@]}" 2>/dev/null) \
    <(printf '%s' "$2")
}
# ensure_secret NAME KEY MODE: MODE is required, optional or generate. Sets ver_KEY to the
# version to mount, or to "" when an optional secret has no value.
ensure_secret() {
  local name="$1" key="$2" mode="$3" file_var="cfg_secret_file_$2" value="" exists=0 version=""
  local file="${!file_var}"
  printf -v "ver_$key" '%s' ""
  ask gcloud secrets describe "$name" "${project[@]}" --format='value(name)' >/dev/null \
    && exists=1
  if [ "$exists" = 1 ]; then
    version="$(ask gcloud secrets versions describe latest --secret="$name" "${project[@]}" \
      --format='value(name)')" || version=""
    version="${version##*/}"
  fi
  if [ -n "$file" ]; then
    value="$(<"$file")"
  elif [ -n "$version" ]; then
    say "secret $name: kept as it is (version $version)"
    printf -v "ver_$key" '%s' "$version"
    return 0
  elif [ "$mode" = generate ]; then
    value="$("$py" -c 'import secrets; print(secrets.token_urlsafe(32))')"
  elif [ "$dry_run" = 1 ] && [ "$mode" = required ]; then
    value="(typed on the terminal)"
  elif [ -t 0 ]; then
    read -r -s -p "deploy: value of secret $name (hidden; empty: none): " value
    printf '\n' >&3
  fi
  if [ -z "$value" ]; then
    [ "$mode" = optional ] || die "secret $name has no value: set [secrets] $key = \"FILE\"" \
      "in $config, or run deploy.sh on a terminal to type it"
    say "secret $name: none given, so nothing mounts it"
    return 0
  fi
  [ "$exists" = 1 ] || run gcloud secrets create "$name" --replication-policy=automatic \
    --labels=app=byte-clips "${project[@]}" --quiet
  if [ -n "$version" ] && same_as_latest "$name" "$value"; then
    say "secret $name: unchanged (version $version)"
  else
    show gcloud secrets versions add "$name" --data-file=- "${project[@]}" --quiet
    changes=$((changes + 1))
    if [ "$dry_run" = 0 ]; then
      printf '%s' "$value" | gcloud secrets versions add "$name" --data-file=- "${project[@]}" \
        --quiet >/dev/null 2>&1 || die "could not add a version to secret $name"
      version="$(gcloud secrets versions describe latest --secret="$name" "${project[@]}" \
        --format='value(name)')"
      version="${version##*/}"
    fi
  fi
  printf -v "ver_$key" '%s' "${version:-latest}"
}
# secret_refs ENV=NAME=KEY...: the --set-secrets value for the secrets that have a version.
secret_refs() {
  local spec env rest name key var refs=""
  for spec in "$@"; do
    env="${spec%%=*}" rest="${spec#*=}"
    name="${rest%%=*}" key="${rest#*=}"
    var="ver_$key"
    [ -z "${!var}" ] || refs="${refs:+$refs,}$env=$name:${!var}"
  done
  printf '%s' "$refs"
}

uses_twitch=$((cfg_part_clips || cfg_part_chatbot || cfg_part_app))
[ "$uses_twitch" = 0 ] || ensure_secret twitch-client-secret twitch_client_secret required
if [ "$cfg_part_vision" = 1 ]; then
  ensure_secret vision-ingest-token vision_ingest_token generate
fi
if [ "$((cfg_part_vision || cfg_part_chatbot))" = 1 ]; then
  ensure_secret gemini-api-key gemini_api_key optional
fi
[ "$cfg_part_chatbot" = 0 ] || ensure_secret discord-webhook-url discord_webhook_url optional
if [ "$cfg_part_app" = 1 ] && [ "$cfg_app_login" = password ]; then
  ensure_secret dashboard-password dashboard_password required
elif [ "$cfg_part_app" = 1 ]; then
  ensure_secret app-streamlit-secrets app_oidc_secrets required
fi

# Access per secret, for the accounts that mount it.
grant_secret() { # NAME KEY ACCOUNT...
  local name="$1" var="ver_$2"
  shift 2
  [ -n "${!var:-}" ] || return 0
  for account in "$@"; do secret_policy "$name" "$account"; done
}
twitch_readers=()
[ "$cfg_part_clips" = 0 ] || twitch_readers+=("$sa_functions")
[ "$cfg_part_chatbot" = 0 ] || twitch_readers+=("$sa_chatbot")
[ "$cfg_part_app" = 0 ] || twitch_readers+=("$sa_app")
[ "$uses_twitch" = 0 ] || grant_secret twitch-client-secret twitch_client_secret \
  "${twitch_readers[@]}"
[ "$cfg_part_vision" = 0 ] || grant_secret vision-ingest-token vision_ingest_token "$sa_vision"
gemini_readers=()
[ "$cfg_part_vision" = 0 ] || gemini_readers+=("$sa_vision")
[ "$cfg_part_chatbot" = 0 ] || gemini_readers+=("$sa_chatbot")
[ "${#gemini_readers[@]}" = 0 ] || grant_secret gemini-api-key gemini_api_key \
  "${gemini_readers[@]}"
[ "$cfg_part_chatbot" = 0 ] || grant_secret discord-webhook-url discord_webhook_url "$sa_chatbot"
if [ "$cfg_part_app" = 1 ]; then
  grant_secret dashboard-password dashboard_password "$sa_app"
  grant_secret app-streamlit-secrets app_oidc_secrets "$sa_app"
fi

# 6. Functions (2nd gen, Python 3.12). The source is main.py at the root (Cloud Functions
#    loads it there), the functions package it wires from, and the shared package.
build="$work/functions-source"
mkdir -p "$build"
cp functions/main.py functions/requirements.txt "$build/"
cp -R functions "$build/functions"
cp -R shared "$build/shared"
find "$build" -name __pycache__ -prune -exec rm -rf {} +

function_url() { # NAME: the HTTPS address of a deployed function (a placeholder in a dry run)
  ask gcloud functions describe "$1" --gen2 --region="$region" "${project[@]}" \
    --format='value(serviceConfig.uri)' \
    || printf 'https://%s-%s.%s.run.app' "$1" "$project_number" "$region"
}
# deploy_function NAME ENTRY_POINT FLAG...: deployed only when its source or flags changed
# (their digest is kept in the function's deploy_spec label).
deploy_function() {
  local name="$1" entry="$2" spec current
  shift 2
  local args=(functions deploy "$name" --gen2 --runtime=python312 --region="$region"
    "${project[@]}" --entry-point="$entry" "$@")
  spec="$(fingerprint "$build" "${args[@]}")"
  current="$(ask gcloud functions describe "$name" --gen2 --region="$region" "${project[@]}" \
    --format='value(labels.deploy_spec)')" || current=""
  if [ "$current" = "$spec" ]; then
    say "function $name: unchanged"
  else
    run gcloud "${args[@]}" --source="$build" --update-labels="deploy_spec=$spec" --quiet
  fi
}
ensure_invoker() { # SERVICE ACCOUNT: run.invoker on one Cloud Run service (a function's)
  local policy
  policy="$(ask gcloud run services get-iam-policy "$1" --region="$region" "${project[@]}" \
    --format=json)" || policy="{}"
  printf '%s' "$policy" | "$py" -m deploy.plan has-binding roles/run.invoker \
    "serviceAccount:$2" && return 0
  run_retrying gcloud run services add-iam-policy-binding "$1" --region="$region" \
    --member="serviceAccount:$2" --role=roles/run.invoker "${project[@]}" --format=none --quiet
}

clip_env="GOOGLE_CLOUD_PROJECT=$cfg_project,TWITCH_CLIENT_ID=$cfg_twitch_client_id"
clip_env="$clip_env,TWITCH_BROADCASTER_ID=$cfg_twitch_broadcaster_id"
if [ "$cfg_part_clips" = 1 ]; then
  clip_secrets="$(secret_refs TWITCH_CLIENT_SECRET=twitch-client-secret=twitch_client_secret)"
  # Concurrency > 1 lets one instance confirm several new clips with shared Get Clips calls;
  # --retry is safe: the worker is idempotent and drops events older than 10 minutes.
  deploy_function on-clip-job-written on_clip_job_written \
    --trigger-location="$cfg_firestore_location" \
    --trigger-event-filters=type=google.cloud.firestore.document.v1.written \
    --trigger-event-filters='database=(default)' \
    --trigger-event-filters-path-pattern='document=clip_jobs/{job_id}' \
    --trigger-service-account="$sa_trigger" --retry \
    --service-account="$sa_functions" --set-env-vars="$clip_env" \
    --set-secrets="$clip_secrets" --timeout=120s --cpu=1 --memory=512Mi --concurrency=20 \
    --max-instances=10
  for fn in sweep_clip_jobs validate_tokens tune_chat_detection; do
    deploy_function "${fn//_/-}" "$fn" --trigger-http --no-allow-unauthenticated \
      --service-account="$sa_functions" --set-env-vars="$clip_env" \
      --set-secrets="$clip_secrets" --timeout=300s --memory=512Mi --max-instances=2
  done
  ensure_invoker on-clip-job-written "$sa_trigger"
fi

if [ "$cfg_part_vision" = 1 ]; then
  # Public: the OBS script presents VISION_INGEST_TOKEN. No Twitch settings.
  vision_secrets="$(secret_refs VISION_INGEST_TOKEN=vision-ingest-token=vision_ingest_token \
    GEMINI_API_KEY=gemini-api-key=gemini_api_key)"
  deploy_function vision-ingest vision_ingest --trigger-http --allow-unauthenticated \
    --service-account="$sa_vision" --set-env-vars="GOOGLE_CLOUD_PROJECT=$cfg_project" \
    --set-secrets="$vision_secrets" --timeout=60s --memory=512Mi --max-instances=3
  [ -n "$ver_gemini_api_key" ] \
    || say "vision_ingest has no GEMINI_API_KEY: it answers 503 until one is given"
fi

# 7. Cloud Scheduler: its own account may invoke these three functions and nothing else.
if [ "$cfg_part_clips" = 1 ]; then
  ensure_invoker sweep-clip-jobs "$sa_scheduler"
  ensure_invoker validate-tokens "$sa_scheduler"
  ensure_invoker tune-chat-detection "$sa_scheduler"
  scheduler_cmd=("$py" -m deploy.scheduler_jobs --project="$cfg_project" --region="$region"
    --service-account="$sa_scheduler" --sweep-uri="$(function_url sweep-clip-jobs)"
    --validate-uri="$(function_url validate-tokens)"
    --tune-uri="$(function_url tune-chat-detection)")
  if [ "$dry_run" = 1 ]; then
    show gcloud auth print-access-token
    show "${scheduler_cmd[@]}"
  else
    result="$(gcloud auth print-access-token | "${scheduler_cmd[@]}")"
    printf '%s\n' "$result" | sed 's/^/deploy: /' >&3
    changes=$((changes + $(printf '%s\n' "$result" | grep -vc ': unchanged$' || true)))
  fi
fi

# 8. Images (Cloud Build, from a copy of exactly what each needs; tagged by its content, so an
#    unchanged image is not rebuilt) and the two Cloud Run services.
image_for() { # KIND (chatbot|app): sets $image, building it when missing
  local kind="$1" context="$work/image-$1" tag
  mkdir -p "$context/deploy"
  cp requirements.txt "$context/"
  cp -R shared "$context/shared"
  if [ "$kind" = chatbot ]; then
    cp -R chatbot "$context/chatbot"
  else
    cp -R streamlit_app "$context/streamlit_app"
    cp deploy/app.streamlit.toml "$context/deploy/"
  fi
  cp "deploy/$kind.Dockerfile" "$context/Dockerfile"
  find "$context" -name __pycache__ -prune -exec rm -rf {} +
  tag="$(fingerprint "$context")"
  image="$repo/$kind:${tag:0:20}"
  if ask gcloud artifacts docker images describe "$image" \
    --format='value(image_summary.digest)' >/dev/null; then
    say "image $kind: ${tag:0:20} exists"
  else
    run gcloud builds submit "$context" --tag="$image" --region="$region" "${project[@]}" --quiet
  fi
}
# deploy_service NAME FLAG...: deployed only when the image or a flag changed.
deploy_service() {
  local name="$1" spec current
  shift
  local args=(run deploy "$name" --region="$region" "${project[@]}" "$@")
  spec="$(fingerprint - "${args[@]}")"
  current="$(ask gcloud run services describe "$name" --region="$region" "${project[@]}" \
    --format='value(metadata.labels.deploy_spec)')" || current=""
  if [ "$current" = "$spec" ]; then
    say "service $name: unchanged"
  else
    run gcloud "${args[@]}" --update-labels="deploy_spec=$spec" --quiet
  fi
}
service_url() { # NAME FALLBACK
  ask gcloud run services describe "$1" --region="$region" "${project[@]}" \
    --format='value(status.url)' || printf '%s' "$2"
}

if [ "$((cfg_part_chatbot || cfg_part_app))" = 1 ]; then
  if ! ask gcloud artifacts repositories describe byte-clips --location="$region" \
    "${project[@]}" --format='value(name)' >/dev/null; then
    run gcloud artifacts repositories create byte-clips --repository-format=docker \
      --location="$region" --description="Byte Clips images" "${project[@]}" --quiet
  fi
fi

if [ "$cfg_part_chatbot" = 1 ]; then
  image_for chatbot
  # One instance, always on, CPU always allocated: it holds the chat connection. Nothing calls
  # it: ingress internal, no public invoker; the probes reach /healthz all the same.
  deploy_service byte-clips-chatbot --image="$image" --service-account="$sa_chatbot" \
    --min-instances=1 --max-instances=1 --no-cpu-throttling --cpu=1 --memory=512Mi \
    --port=8080 --ingress=internal --no-allow-unauthenticated \
    --startup-probe='httpGet.path=/healthz,periodSeconds=5,timeoutSeconds=3,failureThreshold=24' \
    --liveness-probe='httpGet.path=/healthz,periodSeconds=30,timeoutSeconds=5,failureThreshold=3' \
    --set-env-vars="$clip_env,TWITCH_BOT_USER_ID=$cfg_twitch_bot_user_id" \
    --set-secrets="$(secret_refs TWITCH_CLIENT_SECRET=twitch-client-secret=twitch_client_secret \
      GEMINI_API_KEY=gemini-api-key=gemini_api_key \
      DISCORD_WEBHOOK_URL=discord-webhook-url=discord_webhook_url)"
fi

app_url="${cfg_app_url:-https://byte-clips-app-$project_number.$region.run.app}"
if [ "$cfg_part_app" = 1 ]; then
  image_for app
  if [ "$cfg_app_login" = password ]; then
    app_secrets="$(secret_refs TWITCH_CLIENT_SECRET=twitch-client-secret=twitch_client_secret \
      DASHBOARD_PASSWORD=dashboard-password=dashboard_password)"
  else
    # st.login reads [auth] from the secrets.toml mounted here (deploy/app.streamlit.toml).
    app_secrets="$(secret_refs TWITCH_CLIENT_SECRET=twitch-client-secret=twitch_client_secret \
      /var/secrets/streamlit/secrets.toml=app-streamlit-secrets=app_oidc_secrets)"
  fi
  # Public address, but every page asks for the login first (streamlit_app/auth.py). Session
  # affinity keeps a browser's reconnecting websocket on the instance holding its session;
  # the 60-minute request timeout is how long one websocket may stay open.
  deploy_service byte-clips-app --image="$image" --service-account="$sa_app" \
    --allow-unauthenticated --session-affinity --min-instances=0 --max-instances=2 \
    --cpu=1 --memory=1Gi --concurrency=40 --timeout=3600 --port=8080 \
    --startup-probe='httpGet.path=/_stcore/health,periodSeconds=5,timeoutSeconds=3,failureThreshold=24' \
    --set-env-vars="$clip_env,TWITCH_REDIRECT_URI=$app_url/" --set-secrets="$app_secrets"
  if [ -n "$cfg_oidc_redirect_uri" ] && [ "$cfg_oidc_redirect_uri" != "$app_url/oauth2callback" ]; then
    say "warning: [auth] redirect_uri is $cfg_oidc_redirect_uri, the app is at $app_url:" \
      "set redirect_uri = \"$app_url/oauth2callback\" and run again"
  fi
fi

# 9. Where things are, and what is left to do by hand.
say "done: $changes change(s)$([ "$dry_run" = 0 ] || printf ' planned')"
if [ "$cfg_part_app" = 1 ]; then
  say "operations app: $(service_url byte-clips-app "$app_url")"
fi
if [ "$cfg_part_vision" = 1 ]; then
  vision_url="$(function_url vision-ingest)"
  say "vision_ingest:  $vision_url"
fi
step=0
next_step() {
  step=$((step + 1))
  printf '  %s. %s\n' "$step" "$1" >&3
  shift
  [ "$#" = 0 ] || printf '       %s\n' "$@" >&3
}
say "next steps:"
if [ "$cfg_part_app" = 1 ]; then
  next_step "In the Twitch developer console (dev.twitch.tv/console/apps), add the OAuth" \
    "redirect URL $app_url/"
  next_step "Open $app_url, log in, and on the Connect Twitch page connect the" \
    "broadcaster (id $cfg_twitch_broadcaster_id) and the bot account (id $cfg_twitch_bot_user_id)."
else
  next_step "Connect Twitch from a terminal: python -m shared.connect.terminal (the broadcaster," \
    "then the bot account)."
fi
if [ "$cfg_part_vision" = 1 ]; then
  next_step "Point the OBS script at vision_ingest, with the token in a file only you can read:" \
    "gcloud secrets versions access latest --secret=vision-ingest-token --project=$cfg_project --out-file=vision-token.txt" \
    "python -m obs.frame_sender --url $vision_url --broadcaster-id $cfg_twitch_broadcaster_id --token-file vision-token.txt"
fi
if [ "$cfg_part_chatbot" = 1 ]; then
  next_step "The chat bot joins chat once the bot account is connected; its /healthz says why not" \
    "until then (gcloud run services logs read byte-clips-chatbot --region=$region)."
fi
