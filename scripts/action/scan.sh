#!/usr/bin/env bash
# The scan step of action.yml (kept here so test/cli/ci-integrations.test.ts runs it as the
# Action does): one SARIF report, annotations in the github format, findings per rule in the
# step summary, and the exit code and finding count as step outputs. Inputs come in INPUT_*
# variables; HAZARD_LENS is the CLI script. The later runs reuse the first one's cache.
set -uo pipefail

node_cli() { node "$HAZARD_LENS" "$@"; }

read -r -a paths <<< "${INPUT_PATHS:-.}"
read -r -a extra <<< "${INPUT_ARGS:-}"
common=(--severity-threshold "${INPUT_SEVERITY_THRESHOLD:-warning}")
if [ -n "${INPUT_BASELINE:-}" ]; then common+=(--baseline "$INPUT_BASELINE"); fi

node_cli scan "${paths[@]}" "${common[@]}" "${extra[@]}" --format sarif --output "${INPUT_SARIF_FILE:-hazard-lens.sarif}"
code=$?

if [ "$code" != 2 ]; then
  if [ "${INPUT_ANNOTATIONS:-true}" = true ]; then
    node_cli scan "${paths[@]}" "${common[@]}" "${extra[@]}" --format github --quiet
  fi
  findings=$(node_cli scan "${paths[@]}" "${common[@]}" "${extra[@]}" --format json --quiet | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).findings.length))')
  {
    echo "## Hazard Lens"
    echo
    if [ "$findings" = 0 ]; then
      echo "No findings."
    else
      echo "$findings findings (exit code $code). Findings per rule:"
      echo
      echo '```'
      node_cli scan "${paths[@]}" "${common[@]}" "${extra[@]}" --statistics --quiet
      echo '```'
    fi
  } >> "${GITHUB_STEP_SUMMARY:-/dev/stdout}"
else
  findings=0
fi

{
  echo "exit-code=$code"
  echo "findings=$findings"
} >> "${GITHUB_OUTPUT:-/dev/stdout}"
# The job's outcome is decided by the "Fail on findings" step, after the SARIF upload.
exit 0
