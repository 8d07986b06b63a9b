# Builds the native kernel addon. matmul_generic.cc is compiled once per instruction set (the compiler vectorizes it
# for each), matmul_avx2.cc and matmul_avx512*.cc hold the hand-written AVX2/FMA and VNNI/FMA kernels, and
# attention_avx2.cc / attention_avx512.cc the attention tile loop's vector operations, full_attention_avx512.cc the
# tiled full attention of the vision encoder;
# cpu_features.cc picks one table at start-up.
# kernel_coverage=1 (set by scripts/build-native.mjs when INFER_NATIVE_COVERAGE=1, off by default) builds an
# unoptimized addon instrumented for gcov, for `pnpm test:coverage-native`.
{
  "variables": {"kernel_coverage%": 0},
  "target_defaults": {
    "cflags_cc": ["-O3", "-std=gnu++20", "-fPIC", "-fno-math-errno"],
    "cflags_cc!": ["-std=gnu++17", "-O2"],
    "conditions": [
      ["kernel_coverage==1", {
        "cflags_cc": ["-O0", "--coverage", "-fprofile-update=atomic"],
        "cflags_cc!": ["-O3"],
        "ldflags": ["--coverage"],
      }],
    ],
  },
  "targets": [
    {
      "target_name": "kernels_portable",
      "type": "static_library",
      "sources": ["native/matmul_generic.cc"],
      "defines": ["KERNEL_ISA=portable", "KERNEL_GENERIC_IS_BASE=1"],
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["native/matmul_generic.cc", "native/matmul_avx2.cc", "native/attention_avx2.cc"],
      "defines": ["KERNEL_ISA=avx2", "KERNEL_GENERIC_IS_BASE=0"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
    },
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["native/matmul_generic.cc", "native/matmul_avx512.cc", "native/matmul_avx512_interleaved.cc", "native/matmul_avx512_kquants.cc", "native/matmul_avx512_float.cc", "native/attention_avx512.cc", "native/full_attention_avx512.cc"],
      "defines": ["KERNEL_ISA=avx512", "KERNEL_GENERIC_IS_BASE=0"],
      "cflags_cc": ["-Wno-uninitialized", "-Wno-maybe-uninitialized", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni", "-mavx512bf16"],
    },
    {
      "target_name": "kernel",
      "sources": ["native/addon.cc", "native/bandwidth.cc", "native/compute_peak.cc", "native/cpu_features.cc", "native/formats.cc", "native/interleave.cc", "native/ops.cc", "native/paged_attention.cc", "native/thread_pool.cc"],
      "dependencies": ["kernels_portable", "kernels_avx2", "kernels_avx512"],
      "libraries": ["-lpthread"],
    },
  ],
}
