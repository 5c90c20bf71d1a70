#!/usr/bin/env bash
# The one test command (README; .ci/run runs exactly this).
#   1. installs the Python clients the integration tests use, if missing
#   2. builds the release binary and runs the Rust unit tests
#   3. runs the integration tests: the real argus binary driven by the
#      real aws CLI and boto3 (tests/)
# Extra arguments go to pytest, e.g. `scripts/test.sh -k filter`.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" - <<'PY' 2>/dev/null
import importlib.metadata as md, pathlib, re, sys
wanted = {}
for line in pathlib.Path("tests/requirements.txt").read_text().splitlines():
    line = line.split("#")[0].strip()
    if line:
        name, version = line.split("==")
        wanted[name.lower()] = version
for name, version in wanted.items():
    if md.version(name) != version:
        sys.exit(1)
PY
then
    echo "==> installing the Python test clients (tests/requirements.txt)"
    "$python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
# The aws CLI entry point pip installs may not be on PATH (user installs).
if ! command -v aws >/dev/null 2>&1; then
    export PATH="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
fi

echo "==> cargo build --release"
cargo build --release --locked --bin argus
echo "==> cargo test (unit tests)"
cargo test --release --locked --workspace
echo "==> integration tests (real argus binary, aws CLI, boto3)"
ARGUS_BIN="$PWD/target/release/argus" "$python" -m pytest tests -q "$@"
