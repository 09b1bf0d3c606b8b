/* Map-in-map replacement: once the BPF_MAP_UPDATE_ELEM that replaces slot 0 returns, no program run may still
 * count into the old inner map. Sample the old counter after the syscall, let the program run (until the new
 * map has counted settle increments), sample again: the two must be equal. */
#ifndef VMT_INNER_MAP_H
#define VMT_INNER_MAP_H

#include "vmt-runtime.h"

struct vmt_inner_config {
	/* An ARRAY_OF_MAPS whose inner maps are ARRAYs with a u64 counter at counter_off. */
	const struct vmt_map_desc *outer, *inner;
	__u32 counter_off;
	/* The bounds: suite parameters, overridable on the command line. */
	const long *rounds, *settle, *run_repeat, *max_seconds;
	/* The counting program; relocation map 0 is the outer map. */
	struct bpf_insn *insns;
	__u32 insn_cnt;
	const struct vmt_reloc *relocs;
	size_t nrelocs;
};

/* A vmt_case_desc run function; arg is a struct vmt_inner_config. */
enum vmt_status vmt_inner_replace(struct vmt_case *t, const void *arg);

#endif
