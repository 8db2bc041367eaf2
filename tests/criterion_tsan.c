/*
 * criterion_tsan.c - linked into the Criterion test programs of a
 * --enable-tsan build only, so that Criterion can start under
 * ThreadSanitizer.
 *
 * Criterion's sandbox (BoxFort) shares its test data with the workers
 * through "arenas": shared memory it maps with MAP_FIXED at an address it
 * draws itself, 0x200000000000 + (rand_r(&seed) & 0x3fffff) * 16 MiB,
 * checking with mincore(2) that the 128 KiB there are unmapped, and it
 * gives up after 10 draws ("Could not initialize inheritable arena:
 * Resource temporarily unavailable", or a crash on the NULL context of a
 * later arena that failed unchecked).  That range, 0x2000..0x6000 << 32,
 * is almost all ThreadSanitizer's: its shadow, its meta shadow and the
 * gaps it reserves PROT_NONE, and TSan refuses MAP_FIXED outside
 * application memory anyway.  The one part left to applications is
 * 0x550000000000..0x568000000000 (where PIE executables load), about 2.3%
 * of the draws, so 10 draws fail four times out of five and a test
 * program with a few tests almost never gets through (Criterion issue
 * #274, open upstream).
 *
 * The arena code is compiled into libcriterion.so and not exported; its
 * one call we can reach is rand_r, through the PLT, and a definition in
 * the executable comes first in symbol lookup.  This rand_r keeps the
 * seed's sequence (the classic LCG) but returns only values whose low
 * 22 bits put BoxFort's address inside that application window: every
 * draw then lands in memory TSan leaves to programs, and the mincore
 * check still skips one taken.  Nothing of mpshim calls rand_r.  Should
 * BoxFort draw its addresses differently one day, this is merely a poor
 * random number generator in test programs.
 */
#include <stdint.h>

/* default visibility: the tests build with -fvisibility=hidden, and
 * libcriterion.so must find this one */
__attribute__((visibility("default"))) int rand_r(unsigned int *seedp);

#define BXF_BASE	0x200000000000ULL	/* BoxFort's lowest arena address */
#define BXF_STEP_SHIFT	24			/* one draw step: 16 MiB */
#define TSAN_MID_BEG	0x550000000000ULL	/* TSan's PIE application range */
#define TSAN_MID_END	0x568000000000ULL

int rand_r(unsigned int *seedp)
{
	uint32_t first = (uint32_t)((TSAN_MID_BEG - BXF_BASE) >> BXF_STEP_SHIFT);
	uint32_t count = (uint32_t)((TSAN_MID_END - TSAN_MID_BEG) >> BXF_STEP_SHIFT);

	*seedp = *seedp * 1103515245u + 12345u;
	return (int)(first + (*seedp >> 8) % count);
}
