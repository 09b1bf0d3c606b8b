/* Update atomicity: writers store whole values of pattern A or pattern B, readers look the value up and count
 * reads that hold both (or anything else). A read is mixed iff its data words are not all A or all B. */
#ifndef VMT_TORN_READ_H
#define VMT_TORN_READ_H

#include "vmt-runtime.h"

#define VMT_PATTERN_A 0xaaaaaaaaaaaaaaaaULL
#define VMT_PATTERN_B 0x5555555555555555ULL

/* pthread_create slots: writers + readers (suite-model.ts allows 8 of each). */
#define VMT_TORN_THREADS 16

struct vmt_torn_config {
	/* A HASH or ARRAY map; key 0's value holds data_len bytes (a multiple of 8) at data_off. */
	const struct vmt_map_desc *map;
	__u32 data_off, data_len;
	/* BPF_F_LOCK on update and lookup (the value holds a bpf_spin_lock). */
	int lock;
	int writers, readers;
	int mixed_must_be_zero;
	/* The bounds: suite parameters, overridable on the command line. */
	const long *writes, *max_seconds;
};

/* A vmt_case_desc run function; arg is a struct vmt_torn_config. */
enum vmt_status vmt_torn_read(struct vmt_case *t, const void *arg);

#endif
