/* 'steps' cases: a table of map syscalls, each with the result it must give, run in order. */
#ifndef VMT_STEPS_H
#define VMT_STEPS_H

#include "vmt-runtime.h"
#include "vmt-compare.h"

/* Nested repeats (suite-model.ts allows 4 levels); their counters are i0, i1, ... in messages. */
#define VMT_STEPS_DEPTH 4

enum vmt_step_op {
	VMT_STEP_UPDATE,	/* update key with value */
	VMT_STEP_LOOKUP,	/* look key up; with value, the result must equal it */
	VMT_STEP_DELETE,	/* delete key; with compare, the compare* fields are set */
	VMT_STEP_FILL,		/* update keys 0..count-1 with value */
	VMT_STEP_REPEAT,	/* run body count times */
};

/* A count: *param * times + plus, or just plus when param is NULL. */
struct vmt_count {
	const long *param;
	long times;
	long plus;
};

struct vmt_step {
	enum vmt_step_op op;
	/* "step 1.2: delete ct key 1 (BPF_F_COMPARE), compare revision == 10", for messages. */
	const char *what;
	/* Index into the case's maps. */
	unsigned map;
	__u64 key;
	__u64 flags;
	/* 0, or -errno. */
	int expect;
	/* value_size bytes: what update and fill store, what lookup must find (NULL: not checked). */
	const unsigned char *value;
	struct vmt_count count;
	const struct vmt_compare_args *compare;
	const struct vmt_step *body;
	size_t nbody;
};

/* The table of one case: the maps it creates (closed in reverse at the end) and its steps. */
struct vmt_steps_case {
	const struct vmt_map_desc *const *maps;
	size_t nmaps;
	const struct vmt_step *steps;
	size_t nsteps;
};

/* A vmt_case_desc run function; arg is a struct vmt_steps_case. */
enum vmt_status vmt_run_steps(struct vmt_case *t, const void *arg);

#endif
