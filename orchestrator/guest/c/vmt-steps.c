/* 'steps' cases (see vmt-steps.h): the first step that gives another result than its table says fails the case. */
#include "vmt-steps.h"

struct vmt_steps_run {
	struct vmt_case *t;
	const struct vmt_steps_case *c;
	int *fds;
	long loop[VMT_STEPS_DEPTH];
	int depth;
};

static long vmt_count_value(const struct vmt_count *n)
{
	return n->param ? *n->param * n->times + n->plus : n->plus;
}

/* The step's text, and the repeat counters it runs under: "step 1.2: ... (i0=3)". */
static void vmt_step_what(const struct vmt_steps_run *r, const struct vmt_step *s, char *what, size_t cap)
{
	size_t used = snprintf(what, cap, "%s", s->what);

	for (int d = 0; d < r->depth && used < cap; d++)
		used += snprintf(what + used, cap - used, "%si%d=%ld%s", d ? ", " : " (", d, r->loop[d], d + 1 == r->depth ? ")" : "");
}

/* Keys are 4 or 8 bytes; key points at the one the map takes. */
struct vmt_step_key {
	__u32 k4;
	__u64 k8;
};

static const void *vmt_step_key(const struct vmt_map_desc *d, struct vmt_step_key *k, __u64 key)
{
	k->k4 = (__u32)key;
	k->k8 = key;
	return d->key_size == 8 ? (const void *)&k->k8 : (const void *)&k->k4;
}

static int vmt_run_step_list(struct vmt_steps_run *r, const struct vmt_step *steps, size_t n);

/* One step: 0 when it gave what it should, -1 when the case failed (and stops). */
static int vmt_run_step(struct vmt_steps_run *r, const struct vmt_step *s)
{
	const struct vmt_map_desc *d = s->op == VMT_STEP_REPEAT ? NULL : r->c->maps[s->map];
	int fd = s->op == VMT_STEP_REPEAT ? -1 : r->fds[s->map];
	struct vmt_case *t = r->t;
	struct vmt_step_key k;
	const void *key;
	char what[512];

	if (s->op == VMT_STEP_REPEAT) {
		long times = vmt_count_value(&s->count);
		int depth = r->depth;

		if (depth == VMT_STEPS_DEPTH) {
			vmt_fail(t, "%s: repeats nested deeper than %d", s->what, VMT_STEPS_DEPTH);
			return -1;
		}
		r->depth++;
		for (r->loop[depth] = 0; r->loop[depth] < times; r->loop[depth]++) {
			if (vmt_run_step_list(r, s->body, s->nbody)) {
				r->depth--;
				return -1;
			}
		}
		r->depth--;
		return 0;
	}
	vmt_step_what(r, s, what, sizeof(what));
	switch (s->op) {
	case VMT_STEP_UPDATE:
		key = vmt_step_key(d, &k, s->key);
		return vmt_expect(t, what, vmt_update(d, fd, key, s->value, s->flags), s->expect) ? 0 : -1;
	case VMT_STEP_FILL:
		for (long n = 0; n < vmt_count_value(&s->count); n++) {
			key = vmt_step_key(d, &k, n);
			if (!vmt_expect(t, what, vmt_update(d, fd, key, s->value, s->flags), s->expect)) {
				vmt_diag("(at key %ld)", n);
				return -1;
			}
		}
		return 0;
	case VMT_STEP_LOOKUP: {
		unsigned char got[VMT_VALUE_MAX];

		key = vmt_step_key(d, &k, s->key);
		if (!vmt_expect(t, what, vmt_lookup(d, fd, key, got, 0), s->expect))
			return -1;
		if (s->value && memcmp(got, s->value, d->value_size)) {
			char w[3 * VMT_VALUE_MAX + 8], g[3 * VMT_VALUE_MAX + 8];

			vmt_hex(w, sizeof(w), s->value, d->value_size);
			vmt_hex(g, sizeof(g), got, d->value_size);
			vmt_fail(t, "%s: value differs\n  expected %s\n  actual   %s", what, w, g);
			return -1;
		}
		return 0;
	}
	case VMT_STEP_DELETE:
		key = vmt_step_key(d, &k, s->key);
		if (!s->compare)
			return vmt_expect(t, what, vmt_delete(fd, key, s->flags), s->expect) ? 0 : -1;
#if VMT_HAVE_COMPARE
		return vmt_expect(t, what, vmt_delete_compare_args(fd, key, s->flags, s->compare), s->expect) ? 0 : -1;
#else
		/* The generator compiles such a case as SKIP when the headers lack the series. */
		vmt_fail(t, "%s: the compare* fields need the series in the UAPI headers", what);
		return -1;
#endif
	case VMT_STEP_REPEAT:
		break;
	}
	vmt_fail(t, "%s: unknown step op %d", what, (int)s->op);
	return -1;
}

static int vmt_run_step_list(struct vmt_steps_run *r, const struct vmt_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vmt_run_step(r, &steps[i]))
			return -1;
	return 0;
}

enum vmt_status vmt_run_steps(struct vmt_case *t, const void *arg)
{
	const struct vmt_steps_case *c = arg;
	struct vmt_steps_run r = { .t = t, .c = c };
	size_t created = 0;

	r.fds = calloc(c->nmaps ? c->nmaps : 1, sizeof(int));
	if (!r.fds) {
		vmt_fail(t, "out of memory");
		return VMT_FAIL;
	}
	for (; created < c->nmaps; created++) {
		r.fds[created] = vmt_map_create(t, c->maps[created], -1);
		if (r.fds[created] < 0)
			break;
	}
	if (created == c->nmaps)
		vmt_run_step_list(&r, c->steps, c->nsteps);
	while (created-- > 0)
		close(r.fds[created]);
	free(r.fds);
	return t->failed ? VMT_FAIL : VMT_PASS;
}
