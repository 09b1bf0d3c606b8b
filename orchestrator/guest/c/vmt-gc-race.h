/* The conntrack GC race (cilium/cilium#46298); the rule that decides a wrong deletion is documented in
 * guest-tests/gc-race.ts. */
#ifndef VMT_GC_RACE_H
#define VMT_GC_RACE_H

#include "vmt-runtime.h"

/* The control array (one ARRAY entry, mmapped), in u64 slots; the BPF program (programs.ts GC_CTL) uses the same. */
#define VMT_GC_CURSOR		0	/* runs started; a run bumps key cursor & (keys - 1) */
#define VMT_GC_DONE		1	/* runs finished */
#define VMT_GC_CONFIRMED	2	/* bumps that saw marker[k] == 0 after the atomic add */
#define VMT_GC_RACING		3	/* bumps that saw the GC's marker: concurrent with a delete, not counted */
#define VMT_GC_MARKER		4	/* marker[k] at slot 4 + k: the GC is deleting k; then ledger[k] at 4 + keys + k */

struct vmt_gc_config {
	/* A HASH map with 4-byte keys and a u64 revision at rev_off; ctl is the control array. */
	const struct vmt_map_desc *ct;
	const struct vmt_map_desc *ctl;
	__u32 rev_off;
	/* Live keys 0..keys-1 (a power of two: the program picks keys with a mask). */
	__u32 keys;
	int use_compare;
	int use_updater;
	int use_program;
	int live_must_be_zero;
	/* The bounds: suite parameters, overridable on the command line. */
	const long *rounds, *batch, *run_repeat, *max_seconds;
	/* Stop after this many contested deletes (kept with EBUSY, or a live entry deleted); NULL: no such bound. */
	const long *contested;
	/* The in-place bump program; relocation map 0 is ct, 1 is ctl. */
	struct bpf_insn *insns;
	__u32 insn_cnt;
	const struct vmt_reloc *relocs;
	size_t nrelocs;
	/* BPF_F_COMPARE delete of a u64 window; NULL when the headers lack the series. */
	int (*delete_compare)(int fd, const void *key, const void *expected, __u32 off, __u32 size);
};

/* A vmt_case_desc run function; arg is a struct vmt_gc_config. */
enum vmt_status vmt_gc_race(struct vmt_case *t, const void *arg);

#endif
