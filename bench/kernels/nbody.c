/* nbody - a gravitational system of 12 bodies with seeded starting
 * positions and velocities, advanced SIZE steps with a symplectic Euler
 * integrator; the checksum folds the bits of the final energy and
 * positions. */
#include <math.h>
#include "kernel.h"

#define BODIES 12

typedef struct { double x, y, z, vx, vy, vz, m; } body;

static double rnd(bench_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(bench_rand(r) % 1000001) / 1000000.0;
}

static void advance(body *b, int n, double dt)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            double d2 = dx * dx + dy * dy + dz * dz + 1e-3;
            double mag = dt / (d2 * sqrt(d2));
            b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
            b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
        }
    for (int i = 0; i < n; i++) {
        b[i].x += dt * b[i].vx;
        b[i].y += dt * b[i].vy;
        b[i].z += dt * b[i].vz;
    }
}

static double energy(const body *b, int n)
{
    double e = 0.0;
    for (int i = 0; i < n; i++) {
        e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < n; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz + 1e-3);
        }
    }
    return e;
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "nbody");
    body b[BODIES];
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    b[0] = (body){ 0, 0, 0, 0, 0, 0, 40.0 };   /* a heavy centre */
    for (int i = 1; i < BODIES; i++) {
        double rad = rnd(&r, 1.0, 8.0);
        b[i].x = rad * rnd(&r, -1, 1);
        b[i].y = rad * rnd(&r, -1, 1);
        b[i].z = rnd(&r, -0.2, 0.2);
        b[i].vx = -b[i].y * 0.3;
        b[i].vy = b[i].x * 0.3;
        b[i].vz = rnd(&r, -0.05, 0.05);
        b[i].m = rnd(&r, 0.01, 0.5);
    }
    uint64_t h = bench_mix_double(BENCH_CHECK_INIT, energy(b, BODIES));
    for (uint32_t s = 0; s < bench_size; s++)
        advance(b, BODIES, 0.001);
    h = bench_mix_double(h, energy(b, BODIES));
    for (int i = 0; i < BODIES; i++)
        h = bench_mix_double(h, b[i].x + b[i].y + b[i].z);
    bench_print("nbody", h);
    return 0;
}
