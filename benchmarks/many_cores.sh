#!/usr/bin/env bash
# The scale-out figures on a machine with many cores, in one go (docs/performance.md).
#
#   benchmarks/many_cores.sh [OUT]    # OUT: where each case's output goes (default: a new
#                                     # folder under /tmp); about 9 minutes on 16
#                                     # cores (an estimate), 15 on two
#
# Each case's printout is written to OUT/<case>.txt as it finishes, so a run cut short
# keeps what it measured. Run it on a quiet machine: the cases are timed.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d /tmp/gpsim-many-cores-XXXXXX)}"
mkdir -p "$out"
cores="$(python -c 'from sim.processes import usable_cores; print(usable_cores())')"
export PYTHONUNBUFFERED=1
{
  echo "cores: $cores"
  grep -m1 "model name" /proc/cpuinfo 2>/dev/null || true
  python -c 'import platform, numpy, pandas, numba; print("python", platform.python_version(),
    "numpy", numpy.__version__, "pandas", pandas.__version__, "numba", numba.__version__)'
  python -c 'import sys; print("Python writes bytecode as it imports:", not sys.dont_write_bytecode)'
} > "$out/machine.txt"
# The project's bytecode, as a usual installation has it after its first command (where
# PYTHONDONTWRITEBYTECODE is set, every process would compile the project's modules again).
python -m compileall -q gpsim sim analysis policies > /dev/null
# numba's cache: compiled once here, so that no case pays for it.
python run.py run scenarios/default.yaml --set population.size=500 --set warmup_days=7 \
  --set duration_days=7 --out "$out/warm" > "$out/warm.txt" 2>&1
rm -rf "$out/warm"
status=0
# The README's comparison (the files 'python run.py' compares), twice, timed as a user
# runs it: its report's seven figures are shared out over the cores (docs/performance.md,
# "A report's figures over more than two cores"); on two cores it takes 11 to 14 s.
mapfile -t defaults < <(python -c 'from gpsim.cli import DEFAULT_POLICIES
for name in DEFAULT_POLICIES: print(f"scenarios/policies/{name}.yaml")')
for k in 1 2; do
  echo "== the default comparison, $k of 2" | tee -a "$out/progress.txt"
  TIMEFORMAT="the default comparison, $k of 2: %R s wall"
  { time python run.py compare "${defaults[@]}" --out "$out/default_comparison_$k" \
      > "$out/default_comparison_$k.txt" 2>&1; } 2>> "$out/default_comparison.txt" || status=1
done
# baseline: how fast one core is here (a practice-year, first and again), so that the
# other cases can be set against this project's 2-core figures.
# speedup last: the longest, and a run cut short keeps the others.
for case in "baseline" "workers" "timeline $cores" "calibrated $cores" "speedup 2 $cores"; do
  name="${case%% *}"
  echo "== bench.py --$case" | tee -a "$out/progress.txt"
  # shellcheck disable=SC2086  # the case's words are its arguments
  if ! python benchmarks/bench.py --$case > "$out/$name.txt" 2>&1; then
    echo "   failed: see $out/$name.txt" | tee -a "$out/progress.txt"
    status=1
  fi
done
echo "figures in $out"
exit "$status"
