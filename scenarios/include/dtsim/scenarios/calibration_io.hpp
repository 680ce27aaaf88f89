// Calibration files and microbenchmark profiles on disk.
//
// A calibration file (written by `dtsim calibrate`, named by scenarios with
// "calibration": NAME or a path) holds every cost-model parameter of a
// hardware::Calibration, the GPU preset it was measured on, and the fit's
// residuals. Format (docs/calibration.md documents each field):
//   {"schema_version": 1, "kind": "dtsim-calibration", "name": "h200-x4",
//    "gpu": "h200", "source": "...",
//    "op": {"gemm": {"compute_efficiency": 0.79, "fp8_compute_efficiency": 0.7,
//                    "memory_efficiency": 0.88, "kernel_overhead": "0.92 us"}, ...},
//    "gemm": {"tile_m": 128, "tile_n": 256, "k_half": 35.2,
//             "samples": [[M, N, K, batch, "bf16", efficiency], ...]},
//    "attention": {"samples": [["flash2" | "cudnn", seq, head_dim, "fwd" | "bwd", efficiency], ...]},
//    "collective": {"nvlink_efficiency": ..., "network_efficiency": ...,
//                   "base_latency": "7.5 us", "intra_hop_latency": ..., "inter_hop_latency": ...,
//                   "tree_intra_hop_latency": ..., "tree_inter_hop_latency": ...,
//                   "curves": [{"kind": "all_reduce", "group_size": 4,
//                               "points": [[bytes, factor], ...]}, ...]},
//    "host": {"kernel_launch": "7.4 us", "collective_launch": "28 us"},
//    "residuals": [{"group": ..., "kind": "in_sample" | "held_out", "samples": n,
//                   "mean_abs_error": ..., "max_abs_error": ...}, ...]}
// Reading is strict like scenario reading: unknown keys, wrong types and
// out-of-range values are InputErrors naming the JSON path.
//
// A microbenchmark profile is hardware/calibration/bench/run_all.py's output
// (kind "dtsim-microbench-profile", hardware/calibration/README.md).
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/calibration_fit.hpp"
#include "dtsim/hardware/microbench_profile.hpp"

namespace dtsim::scenarios {

inline constexpr int kCalibrationSchemaVersion = 1;

struct CalibrationFile {
  hardware::Calibration calibration;
  std::string gpu;  // the GPU preset it was measured on ("h200")
  std::vector<hardware::FitResidual> residuals;
};

// The file's text: deterministic (same input, same bytes), 2-space indented.
std::string write_calibration_json(const CalibrationFile& file);

// Parses and checks a calibration file; `origin` names it in messages.
// Throws InputError listing every problem (JSON paths).
CalibrationFile read_calibration_json(std::string_view text, std::string_view origin = {});

// Reads the measurements of a microbenchmark profile. Records marked with an
// "error" are skipped (the profile says they failed); anything else the fit
// cannot use is an InputError naming the record's JSON path. Attention keeps
// the flash (FlashAttention-2) and cuDNN records apart; repeat_interleave GQA
// records (which include copying K and V) are left out. Kernel counts of memory-bound
// records without "n_kernels_eager" are 1 (forward) and 2 x forward
// (forward + backward); fused AdamW counts multi_tensor_apply's launches,
// ceil(n_params / (320 x 65536)), like the optimizer kernels dtsim models.
hardware::MicrobenchProfile read_microbench_profile(std::string_view json_text, std::string origin);

// Where a scenario's "calibration" value points: a value containing '/' or
// ending in ".json" is a path, relative to `base_dir` when not absolute;
// otherwise it is a name, looked up as <dir>/<name>.json in `dirs`, first
// match wins. Nothing found: nullopt.
std::optional<std::filesystem::path> find_calibration_file(std::string_view value, const std::filesystem::path& base_dir,
                                                           std::span<const std::filesystem::path> dirs);

// The names (file stems) of the calibration files in `dirs`, sorted.
std::vector<std::string> calibration_names(std::span<const std::filesystem::path> dirs);

}  // namespace dtsim::scenarios
