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
 * over the taps (norm, divide, subtract, square, mean); here each position's channel vectors
 * are read once from memory, their norms taken, and the squared difference accumulated while
 * they are still in L1.
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

/* The largest channel count accepted (per-image sums live on the stack: 48 KB). */
#define LPIPS_MAX_CHANNELS 4096

int lpips_pair_means(const float *tap, int64_t n, int64_t k, int64_t c, int64_t h, int64_t w,
                     int64_t s_img, int64_t s_h, int64_t s_w, const int64_t *pairs,
                     int64_t npairs, float eps, float *out, int nthreads)
{
    if (c < 1 || c > LPIPS_MAX_CHANNELS || h < 1 || w < 1) return 1;
    const double scale = 1.0 / (double)(h * w);
#pragma omp parallel for num_threads(nthreads) schedule(static) collapse(2)
    for (int64_t q = 0; q < npairs; q++) {
        for (int64_t i = 0; i < n; i++) {
            double acc[c];
            float row[c];
            const float *fa = tap + (i * k + pairs[2 * q]) * s_img;
            const float *fb = tap + (i * k + pairs[2 * q + 1]) * s_img;
            for (int64_t ch = 0; ch < c; ch++) acc[ch] = 0.0;
            for (int64_t y = 0; y < h; y++) {
                for (int64_t ch = 0; ch < c; ch++) row[ch] = 0.0f;
                for (int64_t x = 0; x < w; x++) {
                    const float *a = fa + y * s_h + x * s_w;
                    const float *b = fb + y * s_h + x * s_w;
                    float sa = 0.0f, sb = 0.0f;
#pragma omp simd reduction(+ : sa, sb)
                    for (int64_t ch = 0; ch < c; ch++) {
                        sa += a[ch] * a[ch];
                        sb += b[ch] * b[ch];
                    }
                    const float ia = 1.0f / (sqrtf(sa) + eps);
                    const float ib = 1.0f / (sqrtf(sb) + eps);
#pragma omp simd
                    for (int64_t ch = 0; ch < c; ch++) {
                        const float d = b[ch] * ib - a[ch] * ia;
                        row[ch] += d * d;
                    }
                }
                for (int64_t ch = 0; ch < c; ch++) acc[ch] += row[ch];
            }
            float *o = out + (q * n + i) * c;
            for (int64_t ch = 0; ch < c; ch++) o[ch] = (float)(acc[ch] * scale);
        }
    }
    return 0;
}
