/*
 * The LPIPS comparison of trunk taps in one pass over memory (CPU, float32).
 *
 * For pairs (i, j) of interleaved batches of a tap (image n of batch b at index n*k + b) this
 * computes, for every image n and channel c, the spatial mean over positions p of
 *
 *     (f_j[p, c] / (|f_j[p]| + eps) - f_i[p, c] / (|f_i[p]| + eps))^2
 *
 * with |f[p]| the L2 norm over channels at position p: steps 2-3 of LPIPS and the spatial
 * mean of step 4 (metrics/lpips/model.py). The eager PyTorch version makes five to six passes
 * over the taps (norm, divide, subtract, square, mean), each streaming them from memory; here
 * each image is read from memory once: a first sweep takes the inverse norms of its positions
 * (once per image, so a triplet's reference serves both of its pairs), a second accumulates the
 * squared differences while the image is still in cache.
 *
 * Layout: channels innermost (stride 1), as in channels-last tensors and in the position-major
 * Winograd taps of metrics/lpips/cpu.py; images and positions at any strides (in elements).
 *
 * Rounding: each side is normalised by one rounded reciprocal and the difference is taken of
 * the two rounded products (built with -ffp-contract=off, so no fused multiply-add merges a
 * product into the subtraction): identical inputs give exactly zero. Per-row sums run in
 * float, the sum over rows in double.
 *
 * Loaded by metrics/lpips/native/__init__.py, which compiles it on first use.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* The largest channel count accepted (a row of per-channel sums lives on the stack). */
#define LPIPS_MAX_CHANNELS 4096

/* Inverse norms 1/(|f[p]| + eps) of one image's positions (row-major), into inv[0 .. h*w). */
static void inverse_norms(const float *f, int64_t c, int64_t h, int64_t w, int64_t s_h,
                          int64_t s_w, float eps, float *inv)
{
    for (int64_t y = 0; y < h; y++) {
        for (int64_t x = 0; x < w; x++) {
            const float *v = f + y * s_h + x * s_w;
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int64_t ch = 0; ch < c; ch++) s += v[ch] * v[ch];
            inv[y * w + x] = 1.0f / (sqrtf(s) + eps);
        }
    }
}

int lpips_pair_means(const float *tap, int64_t n, int64_t k, int64_t c, int64_t h, int64_t w,
                     int64_t s_img, int64_t s_h, int64_t s_w, const int64_t *pairs,
                     int64_t npairs, float eps, float *out, int nthreads)
{
    if (c < 1 || c > LPIPS_MAX_CHANNELS || h < 1 || w < 1 || k < 1) return 1;
    const int64_t positions = h * w;
    const double scale = 1.0 / (double)positions;
    int failed = 0;
#pragma omp parallel num_threads(nthreads) reduction(| : failed)
    {
        /* Per thread: the inverse norms of the k images of one index, computed once for all
           pairs (a triplet's reference serves two), in a first pass over each position; the
           second pass then finds the channel vectors in cache. */
        float *inv = malloc(sizeof(float) * (size_t)(k * positions));
        if (inv == NULL) failed = 1;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            if (inv == NULL) continue;
            for (int64_t b = 0; b < k; b++) {
                int used = 0;
                for (int64_t q = 0; q < npairs; q++)
                    used |= pairs[2 * q] == b || pairs[2 * q + 1] == b;
                if (used)
                    inverse_norms(tap + (i * k + b) * s_img, c, h, w, s_h, s_w, eps,
                                  inv + b * positions);
            }
            for (int64_t q = 0; q < npairs; q++) {
                const int64_t ja = pairs[2 * q], jb = pairs[2 * q + 1];
                const float *fa = tap + (i * k + ja) * s_img;
                const float *fb = tap + (i * k + jb) * s_img;
                const float *inv_a = inv + ja * positions, *inv_b = inv + jb * positions;
                double acc[c];
                float row[c];
                for (int64_t ch = 0; ch < c; ch++) acc[ch] = 0.0;
                for (int64_t y = 0; y < h; y++) {
                    for (int64_t ch = 0; ch < c; ch++) row[ch] = 0.0f;
                    for (int64_t x = 0; x < w; x++) {
                        const float *a = fa + y * s_h + x * s_w;
                        const float *bv = fb + y * s_h + x * s_w;
                        const float ia = inv_a[y * w + x], ib = inv_b[y * w + x];
#pragma omp simd
                        for (int64_t ch = 0; ch < c; ch++) {
                            const float d = bv[ch] * ib - a[ch] * ia;
                            row[ch] += d * d;
                        }
                    }
                    for (int64_t ch = 0; ch < c; ch++) acc[ch] += row[ch];
                }
                float *o = out + (q * n + i) * c;
                for (int64_t ch = 0; ch < c; ch++) o[ch] = (float)(acc[ch] * scale);
            }
        }
        free(inv);
    }
    return failed;
}
