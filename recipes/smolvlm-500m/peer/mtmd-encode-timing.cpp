// mtmd-encode-timing: how long llama.cpp's multimodal library takes to encode one image tile, for the recipe's
// benchmark (bench.ts --llama-cpp-timing). Built outside this repository against a llama.cpp build (see README.md);
// uses only llama.cpp's public llama.h / mtmd.h API with mtmd's default settings (2 threads here).
//
// usage: mtmd-encode-timing TEXT.gguf MMPROJ.gguf SIZE RUNS THREADS
//   Encodes a SIZE × SIZE image of random pixels RUNS times (after one warm-up run) and prints one JSON line:
//   {"chunks": image chunks per run, "tokens": embeddings per chunk, "ms": [milliseconds of every chunk encode]}.
#include "llama.h"
#include "mtmd.h"
#include "mtmd-helper.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static void quiet(enum ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s TEXT.gguf MMPROJ.gguf SIZE RUNS THREADS\n", argv[0]);
        return 2;
    }
    const int size = atoi(argv[3]), runs = atoi(argv[4]), threads = atoi(argv[5]);
    llama_log_set(quiet, nullptr);
    mtmd_helper_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], model_params);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    mtmd_context_params params = mtmd_context_params_default();
    params.use_gpu = false;
    params.n_threads = threads;
    params.print_timings = false;
    mtmd_context * mtmd = mtmd_init_from_file(argv[2], model, params);
    if (!mtmd) { fprintf(stderr, "cannot load %s\n", argv[2]); return 1; }

    std::vector<unsigned char> rgb((size_t) size * size * 3);
    unsigned state = 12345;
    for (auto & byte : rgb) { state = state * 1664525u + 1013904223u; byte = (unsigned char) (state >> 24); }
    mtmd_bitmap * bitmap = mtmd_bitmap_init(size, size, rgb.data());
    const std::string prompt = std::string(mtmd_default_marker()) + "What is this?";
    mtmd_input_text input { prompt.c_str(), prompt.size(), true, true };
    mtmd_input_chunks * chunks = mtmd_input_chunks_init();
    const mtmd_bitmap * bitmaps[] = { bitmap };
    if (mtmd_tokenize(mtmd, chunks, &input, bitmaps, 1) != 0) { fprintf(stderr, "mtmd_tokenize failed\n"); return 1; }

    std::vector<const mtmd_input_chunk *> images;
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk * chunk = mtmd_input_chunks_get(chunks, i);
        if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_IMAGE) images.push_back(chunk);
    }
    std::string ms;
    for (int run = -1; run < runs; run++) {
        for (const auto * chunk : images) {
            const auto started = std::chrono::steady_clock::now();
            if (mtmd_encode_chunk(mtmd, chunk) != 0) { fprintf(stderr, "mtmd_encode_chunk failed\n"); return 1; }
            const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
            if (run >= 0) ms += (ms.empty() ? "" : ", ") + std::to_string(elapsed);
        }
    }
    printf("{\"chunks\": %zu, \"tokens\": %zu, \"ms\": [%s]}\n", images.size(), images.empty() ? 0 : mtmd_input_chunk_get_n_tokens(images[0]), ms.c_str());
    mtmd_input_chunks_free(chunks);
    mtmd_bitmap_free(bitmap);
    mtmd_free(mtmd);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
