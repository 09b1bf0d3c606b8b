/* Update atomicity (see vmt-torn-read.h): whole-value updates against syscall lookups. */
#include "vmt-torn-read.h"

struct vmt_torn {
	const struct vmt_torn_config *cfg;
	int fd;
	double deadline;
	int writers_left;
	__u64 writes, reads, mixed, garbage, missing;
	int failed;
	char msg[256];
	int example_taken;
	char example[256];
};

static void vmt_torn_error(struct vmt_torn *s, const char *what, int err)
{
	if (__atomic_exchange_n(&s->failed, 1, __ATOMIC_SEQ_CST) == 0)
		snprintf(s->msg, sizeof(s->msg), "%s: %s", what, vmt_errname(err));
}

static void vmt_torn_fill(const struct vmt_torn_config *cfg, unsigned char *v, __u64 word)
{
	memset(v, 0, cfg->map->value_size);
	for (__u32 i = 0; i < cfg->data_len; i += 8)
		memcpy(v + cfg->data_off + i, &word, 8);
}

static void *vmt_torn_writer(void *arg)
{
	struct vmt_torn *s = arg;
	const struct vmt_torn_config *cfg = s->cfg;
	unsigned char *a = malloc(cfg->map->value_size), *b = malloc(cfg->map->value_size);
	__u32 key = 0;

	if (a && b) {
		vmt_torn_fill(cfg, a, VMT_PATTERN_A);
		vmt_torn_fill(cfg, b, VMT_PATTERN_B);
		for (long i = 0; i < *cfg->writes && !__atomic_load_n(&s->failed, __ATOMIC_RELAXED); i++) {
			int rc = vmt_update(cfg->map, s->fd, &key, (i & 1) ? b : a, cfg->lock ? BPF_F_LOCK : BPF_ANY);

			if (rc) {
				vmt_torn_error(s, "update", rc);
				break;
			}
			__atomic_add_fetch(&s->writes, 1, __ATOMIC_RELAXED);
			if ((i & 255) == 255 && vmt_now() > s->deadline)
				break;
		}
	}
	free(a);
	free(b);
	__atomic_sub_fetch(&s->writers_left, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *vmt_torn_reader(void *arg)
{
	struct vmt_torn *s = arg;
	const struct vmt_torn_config *cfg = s->cfg;
	unsigned char *v = malloc(cfg->map->value_size);
	__u32 key = 0;

	while (v && __atomic_load_n(&s->writers_left, __ATOMIC_SEQ_CST) > 0 && !__atomic_load_n(&s->failed, __ATOMIC_RELAXED)) {
		__u32 na = 0, nb = 0, other = 0, first_b = 0, first_a = 0;
		int rc = vmt_lookup(cfg->map, s->fd, &key, v, cfg->lock ? BPF_F_LOCK : 0);

		if (rc == -ENOENT && cfg->map->type == BPF_MAP_TYPE_HASH) {
			/* Neither A nor B, but no mix either: counted and reported, not this claim. */
			__atomic_add_fetch(&s->missing, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (rc) {
			vmt_torn_error(s, "lookup", rc);
			break;
		}
		for (__u32 i = 0; i < cfg->data_len; i += 8) {
			__u64 w;

			memcpy(&w, v + cfg->data_off + i, 8);
			if (w == VMT_PATTERN_A) {
				if (!na++)
					first_a = i / 8;
			} else if (w == VMT_PATTERN_B) {
				if (!nb++)
					first_b = i / 8;
			} else {
				other++;
			}
		}
		__atomic_add_fetch(&s->reads, 1, __ATOMIC_RELAXED);
		if ((na && nb) || other) {
			__atomic_add_fetch(&s->mixed, 1, __ATOMIC_RELAXED);
			if (other)
				__atomic_add_fetch(&s->garbage, 1, __ATOMIC_RELAXED);
			if (__atomic_exchange_n(&s->example_taken, 1, __ATOMIC_SEQ_CST) == 0)
				snprintf(s->example, sizeof(s->example), "first mixed read: %u words A (first at word %u), %u words B (first at word %u), %u neither, of %u",
					 na, first_a, nb, first_b, other, cfg->data_len / 8);
		}
	}
	free(v);
	return NULL;
}

enum vmt_status vmt_torn_read(struct vmt_case *t, const void *arg)
{
	const struct vmt_torn_config *cfg = arg;
	struct vmt_torn s = { .cfg = cfg, .fd = -1 };
	pthread_t threads[VMT_TORN_THREADS];
	int started = 0;
	unsigned char *v = malloc(cfg->map->value_size);
	__u32 key = 0;
	double t0 = vmt_now();

	if (!v) {
		vmt_fail(t, "out of memory");
		return VMT_FAIL;
	}
	s.fd = vmt_map_create(t, cfg->map, -1);
	if (s.fd < 0)
		goto out;
	vmt_torn_fill(cfg, v, VMT_PATTERN_A);
	if (!vmt_expect(t, "store pattern A", vmt_update(cfg->map, s.fd, &key, v, BPF_ANY), 0))
		goto out;
	s.deadline = t0 + *cfg->max_seconds;
	s.writers_left = cfg->writers;
	for (int i = 0; i < cfg->writers + cfg->readers; i++) {
		if (pthread_create(&threads[i], NULL, i < cfg->writers ? vmt_torn_writer : vmt_torn_reader, &s)) {
			vmt_fail(t, "pthread_create failed");
			if (i < cfg->writers)
				__atomic_sub_fetch(&s.writers_left, cfg->writers - i, __ATOMIC_SEQ_CST);
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (s.failed)
		vmt_fail(t, "%s", s.msg);
	vmt_diag("%llu whole-value updates by %d writer(s), %llu lookups by %d reader(s)%s in %.2f s",
		 (unsigned long long)s.writes, cfg->writers, (unsigned long long)s.reads, cfg->readers,
		 cfg->lock ? ", both with BPF_F_LOCK" : "", vmt_now() - t0);
	if (cfg->mixed_must_be_zero) {
		vmt_diag("mixed reads: %llu (%llu with words of neither pattern); must be 0", (unsigned long long)s.mixed, (unsigned long long)s.garbage);
		if (s.mixed)
			vmt_fail(t, "%llu of %llu lookups returned a value mixing pattern A and pattern B", (unsigned long long)s.mixed, (unsigned long long)s.reads);
	} else {
		vmt_diag("characterisation (not a pass/fail check): mixed reads %llu of %llu (%llu with words of neither pattern)",
			 (unsigned long long)s.mixed, (unsigned long long)s.reads, (unsigned long long)s.garbage);
	}
	if (s.example_taken)
		vmt_diag("%s", s.example);
	if (s.missing)
		vmt_diag("lookups that found no element while it was being replaced (ENOENT): %llu", (unsigned long long)s.missing);
	if (!t->failed && (s.writes == 0 || s.reads == 0))
		vmt_fail(t, "nothing measured: %llu writes, %llu reads", (unsigned long long)s.writes, (unsigned long long)s.reads);
out:
	if (s.fd >= 0)
		close(s.fd);
	free(v);
	return t->failed ? VMT_FAIL : VMT_PASS;
}
