/* Map-in-map replacement (see vmt-inner-map.h). */
#include "vmt-inner-map.h"

struct vmt_inner {
	const struct vmt_inner_config *cfg;
	int prog_fd;
	int stop;
	int failed;
	int err;
	__u64 runs;
};

static void *vmt_inner_runner(void *arg)
{
	struct vmt_inner *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		int rc = vmt_prog_run(s->prog_fd, *s->cfg->run_repeat);

		if (rc) {
			s->err = rc;
			__atomic_store_n(&s->failed, 1, __ATOMIC_SEQ_CST);
			break;
		}
		__atomic_add_fetch(&s->runs, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int vmt_inner_counter(const struct vmt_inner_config *cfg, int fd, __u64 *out)
{
	unsigned char v[VMT_VALUE_MAX];
	__u32 key = 0;
	int rc = vmt_lookup(cfg->inner, fd, &key, v, 0);

	if (rc == 0)
		memcpy(out, v + cfg->counter_off, 8);
	return rc;
}

/* Wait until the map's counter reaches want; returns the last value seen. */
static int vmt_inner_wait(struct vmt_inner *s, int fd, __u64 want, double until, __u64 *seen)
{
	for (;;) {
		int rc = vmt_inner_counter(s->cfg, fd, seen);

		if (rc)
			return rc;
		if (*seen >= want || vmt_now() > until || __atomic_load_n(&s->failed, __ATOMIC_SEQ_CST))
			return 0;
		sched_yield();
	}
}

enum vmt_status vmt_inner_replace(struct vmt_case *t, const void *arg)
{
	const struct vmt_inner_config *cfg = arg;
	struct vmt_inner s = { .cfg = cfg, .prog_fd = -1 };
	int tmpl = -1, outer = -1, cur = -1, next = -1, have_runner = 0, rc;
	double t0 = vmt_now(), deadline = t0 + *cfg->max_seconds, in_syscall = 0;
	__u64 after, later, seen, moved = 0, least_settle = ~0ULL;
	__u32 slot = 0, fd32;
	pthread_t runner;
	long r = 0;

	tmpl = vmt_map_create(t, cfg->inner, -1);
	if (tmpl < 0)
		goto out;
	outer = vmt_map_create(t, cfg->outer, tmpl);
	cur = vmt_map_create(t, cfg->inner, -1);
	if (outer < 0 || cur < 0)
		goto out;
	fd32 = cur;
	if (!vmt_expect(t, "put the first inner map in slot 0", vmt_update(cfg->outer, outer, &slot, &fd32, BPF_ANY), 0))
		goto out;
	s.prog_fd = vmt_prog_load_maps(t, "vmt_inner_cnt", cfg->insns, cfg->insn_cnt, cfg->relocs, cfg->nrelocs, &outer);
	if (s.prog_fd < 0)
		goto out;
	if (pthread_create(&runner, NULL, vmt_inner_runner, &s)) {
		vmt_fail(t, "pthread_create failed");
		goto out;
	}
	have_runner = 1;
	rc = vmt_inner_wait(&s, cur, 1, deadline, &seen);
	if (rc || seen == 0) {
		vmt_fail(t, "the program never counted into the first inner map (%s)", rc ? vmt_errname(rc) : "timeout");
		goto out;
	}
	for (r = 0; r < *cfg->rounds && vmt_now() < deadline; r++) {
		double before;

		next = vmt_map_create(t, cfg->inner, -1);
		if (next < 0)
			goto out;
		fd32 = next;
		before = vmt_now();
		rc = vmt_update(cfg->outer, outer, &slot, &fd32, BPF_ANY);
		in_syscall += vmt_now() - before;
		if (!vmt_expect(t, "replace slot 0", rc, 0))
			goto out;
		/* The replacing syscall has returned: from here on the old map must not count. */
		if (!vmt_expect(t, "sample the old counter", vmt_inner_counter(cfg, cur, &after), 0))
			goto out;
		if (!vmt_expect(t, "let the program run", vmt_inner_wait(&s, next, *cfg->settle, deadline, &seen), 0))
			goto out;
		if (seen < least_settle)
			least_settle = seen;
		if (!vmt_expect(t, "sample the old counter again", vmt_inner_counter(cfg, cur, &later), 0))
			goto out;
		if (later != after) {
			moved++;
			vmt_fail(t, "round %ld: the old inner map's counter went from %llu to %llu after the replacing update returned (the new map counted %llu meanwhile)",
				 r, (unsigned long long)after, (unsigned long long)later, (unsigned long long)seen);
		}
		close(cur);
		cur = next;
		next = -1;
	}
out:
	__atomic_store_n(&s.stop, 1, __ATOMIC_SEQ_CST);
	if (have_runner)
		pthread_join(runner, NULL);
	if (s.failed)
		vmt_fail(t, "BPF_PROG_TEST_RUN: %s", vmt_errname(s.err));
	vmt_diag("%ld replacements in %.2f s (%.1f ms per replacing update); %llu program runs x %ld; the new map counted at least %llu before the second sample",
		 r, vmt_now() - t0, r ? 1000 * in_syscall / r : 0.0, (unsigned long long)s.runs, *cfg->run_repeat,
		 (unsigned long long)(least_settle == ~0ULL ? 0 : least_settle));
	vmt_diag("old inner map counted after its replacement returned: %llu rounds; must be 0", (unsigned long long)moved);
	if (!t->failed && r == 0)
		vmt_fail(t, "no replacement done within %ld s", *cfg->max_seconds);
	if (!t->failed && least_settle < (__u64)*cfg->settle)
		vmt_diag("note: the time bound cut the settle period short (%llu of %ld increments)", (unsigned long long)least_settle, *cfg->settle);
	if (next >= 0)
		close(next);
	if (cur >= 0)
		close(cur);
	if (s.prog_fd >= 0)
		close(s.prog_fd);
	if (outer >= 0)
		close(outer);
	if (tmpl >= 0)
		close(tmpl);
	return t->failed ? VMT_FAIL : VMT_PASS;
}
