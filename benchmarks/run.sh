#!/usr/bin/env bash
# The engine benchmarks: RPA + XXZ (J = 2) training steps and compile-time scaling, each with its
# in-run references (machine floor; TensorCircuit-ng built as in seed 004, with qntk[bench]).
# Usage: benchmarks/run.sh [OUT_DIR]   (the n = 8 reference compiles for a long time on a CPU)
set -euo pipefail
out=${1:-bench-out}
mkdir -p "$out"
qntk bench --workload rpa-train --qubits 6 --layers 192 --batch 10 --json --out "$out/rpa-n6-L192.json" >/dev/null
qntk bench --workload rpa-train --qubits 8 --layers 768 --batch 10 --json --out "$out/rpa-n8-L768.json" >/dev/null
qntk bench --workload compile --qubits 6 --batch 10 --json --out "$out/compile-n6.json" >/dev/null
qntk bench --workload hea-train --qubits 8 --layers 768 --batch 10 --json --out "$out/hea-n8.json" >/dev/null
for f in "$out"/*.json; do
  python3 - "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = ("step_time_s", "compile_time_s", "mu_time_s", "mu_over_step", "floor_fraction", "speedup", "reference_compile_time_s")
print(sys.argv[1], {k: round(d[k], 4) for k in keys if isinstance(d.get(k), float)}, d.get("rows", ""))
PY
done
