# Sourced by the one-GPU run scripts (run_s6_*.sh, run_s7_*.sh): from the
# repository's root, with $OUT set, and TAG = <gpu>-x1-<session> after the GPU
# the driver reports (h100 or h200) and the caller's SESSION (default s6), so
# that every file says which GPU and which session measured it.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit 1
: "${OUT:?set OUT to the output directory}"
case "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)" in
  *H200*) GPU=h200 ;; *H100*) GPU=h100 ;; *) GPU=gpu ;;
esac
export PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}" TAG=$GPU-x1-${SESSION:-s6}
