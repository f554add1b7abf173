#!/usr/bin/env bash
# The accelerator check in one call (benchmarks/accelerator/README.md).
#   on a lent GPU machine:  bash benchmarks/accelerator/check.sh           (results into $OUT)
#   on a CPU, tiny sizes:   JAX_PLATFORMS=cpu bash benchmarks/accelerator/check.sh --quick --out DIR
# Packages the machine lacks travel as wheels in .whl/ (see the README); they are
# installed into a folder of their own, never over the image's own packages.
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  site=$(mktemp -d)
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl || exit 1
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
args=("$@")
if [[ " $* " != *" --out "* ]]; then
  args+=(--out "${OUT:-benchmarks/results/accelerator}")
fi
exec "$PYTHON" benchmarks/accelerator/check.py "${args[@]}"
