/* The conntrack GC race (see vmt-gc-race.h): a GC snapshots and deletes while a datapath refreshes. */
#include "vmt-gc-race.h"

struct vmt_gc {
	const struct vmt_gc_config *cfg;
	int ct_fd, ctl_fd, prog_fd;
	__u64 *ctl;
	size_t ctl_len;
	pthread_mutex_t *mu;
	__u64 *rec;
	__u64 next_gen;
	int stop;
	__u64 updates, update_enoent, runs;
	int thread_failed;
	char thread_msg[256];
};

#define VMT_GC_MARKER_OF(g, k) (&(g)->ctl[VMT_GC_MARKER + (k)])
#define VMT_GC_LEDGER_OF(g, k) (&(g)->ctl[VMT_GC_MARKER + (g)->cfg->keys + (k)])

static void vmt_gc_value(const struct vmt_gc *g, unsigned char *v, __u32 key, __u64 rev)
{
	memset(v, 0, g->cfg->ct->value_size);
	/* Bytes outside the revision say which key and generation wrote them, for anyone reading a dump. */
	for (__u32 i = 0; i + 8 <= g->cfg->ct->value_size; i += 8) {
		__u64 w = ((__u64)key << 32) | (rev >> 32);

		memcpy(v + i, &w, 8);
	}
	memcpy(v + g->cfg->rev_off, &rev, 8);
}

static __u64 vmt_gc_new_rev(struct vmt_gc *g)
{
	return __atomic_add_fetch(&g->next_gen, 1, __ATOMIC_SEQ_CST) << 32;
}

static void vmt_gc_thread_fail(struct vmt_gc *g, const char *what, int err)
{
	if (__atomic_exchange_n(&g->thread_failed, 1, __ATOMIC_SEQ_CST) == 0)
		snprintf(g->thread_msg, sizeof(g->thread_msg), "%s: %s", what, vmt_errname(err));
	__atomic_store_n(&g->stop, 1, __ATOMIC_SEQ_CST);
}

/* The datapath's replacing updates: a whole new value with a new generation, BPF_EXIST, recorded under the key's mutex. */
static void *vmt_gc_updater(void *arg)
{
	struct vmt_gc *g = arg;
	unsigned char *v = malloc(g->cfg->ct->value_size);
	__u32 k = 0;

	while (v && !__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		__u64 rev;
		int rc;

		pthread_mutex_lock(&g->mu[k]);
		rev = vmt_gc_new_rev(g);
		vmt_gc_value(g, v, k, rev);
		rc = vmt_update(g->cfg->ct, g->ct_fd, &k, v, BPF_EXIST);
		if (rc == 0) {
			g->rec[k] = rev;
			g->updates++;
		} else if (rc == -ENOENT) {
			g->update_enoent++;
		} else {
			vmt_gc_thread_fail(g, "datapath update", rc);
		}
		pthread_mutex_unlock(&g->mu[k]);
		k = (k + 1) & (g->cfg->keys - 1);
	}
	free(v);
	return NULL;
}

/* The datapath's in-place bumps: the BPF program, run repeatedly. */
static void *vmt_gc_runner(void *arg)
{
	struct vmt_gc *g = arg;

	while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		int rc = vmt_prog_run(g->prog_fd, *g->cfg->run_repeat);

		if (rc) {
			vmt_gc_thread_fail(g, "BPF_PROG_TEST_RUN", rc);
			break;
		}
		__atomic_add_fetch(&g->runs, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Every program run that had started by now has finished (runs are sequential: one runner thread). */
static int vmt_gc_wait_runs(struct vmt_gc *g)
{
	__u64 started = __atomic_load_n(&g->ctl[VMT_GC_CURSOR], __ATOMIC_SEQ_CST);
	double until = vmt_now() + 10;

	while (__atomic_load_n(&g->ctl[VMT_GC_DONE], __ATOMIC_SEQ_CST) < started) {
		if (vmt_now() > until)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

/* BPF_MAP_LOOKUP_BATCH over the whole map: keys and revisions. */
static int vmt_gc_snapshot(struct vmt_gc *g, __u32 *keys, __u64 *revs, long cap, long *n_out)
{
	size_t vs = g->cfg->ct->value_size;
	__u32 *kbuf = calloc(*g->cfg->batch, sizeof(__u32));
	unsigned char *vbuf = calloc(*g->cfg->batch, vs);
	__u64 in = 0, out = 0;
	int first = 1, rc = 0;
	long n = 0;

	if (!kbuf || !vbuf) {
		rc = -ENOMEM;
		goto done;
	}
	for (;;) {
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.batch.map_fd = g->ct_fd;
		attr.batch.in_batch = first ? 0 : vmt_ptr(&in);
		attr.batch.out_batch = vmt_ptr(&out);
		attr.batch.keys = vmt_ptr(kbuf);
		attr.batch.values = vmt_ptr(vbuf);
		attr.batch.count = *g->cfg->batch;
		rc = vmt_bpf(BPF_MAP_LOOKUP_BATCH, &attr);
		if (rc && rc != -ENOENT)
			goto done;
		for (__u32 i = 0; i < attr.batch.count; i++) {
			if (n >= cap) {
				rc = -E2BIG;
				goto done;
			}
			keys[n] = kbuf[i];
			memcpy(&revs[n], vbuf + i * vs + g->cfg->rev_off, 8);
			n++;
		}
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		in = out;
		first = 0;
	}
done:
	free(kbuf);
	free(vbuf);
	*n_out = n;
	return rc;
}

static int vmt_gc_delete(struct vmt_gc *g, __u32 key, __u64 snapshot)
{
	if (g->cfg->use_compare)
		return g->cfg->delete_compare(g->ct_fd, &key, &snapshot, g->cfg->rev_off, 8);
	return vmt_delete(g->ct_fd, &key, 0);
}

enum vmt_status vmt_gc_race(struct vmt_case *t, const void *arg)
{
	const struct vmt_gc_config *cfg = arg;
	struct vmt_gc g = { .cfg = cfg, .ct_fd = -1, .ctl_fd = -1, .prog_fd = -1 };
	__u32 *snap_keys = calloc(cfg->keys, sizeof(__u32));
	__u64 *snap_revs = calloc(cfg->keys, sizeof(__u64));
	unsigned char *v = malloc(cfg->ct->value_size);
	pthread_t updater, runner;
	int have_updater = 0, have_runner = 0;
	__u64 deleted = 0, kept = 0, live = 0, live_update = 0, live_bump = 0, snapshotted = 0;
	long rounds = 0, n = 0, quiet_deleted = 0;
	double started = vmt_now(), deadline;
	int rc;

	g.mu = calloc(cfg->keys, sizeof(*g.mu));
	g.rec = calloc(cfg->keys, sizeof(*g.rec));
	if (!snap_keys || !snap_revs || !v || !g.mu || !g.rec) {
		vmt_fail(t, "out of memory");
		goto out;
	}
	for (__u32 k = 0; k < cfg->keys; k++)
		pthread_mutex_init(&g.mu[k], NULL);
	g.ct_fd = vmt_map_create(t, cfg->ct, -1);
	g.ctl_fd = vmt_map_create(t, cfg->ctl, -1);
	if (g.ct_fd < 0 || g.ctl_fd < 0)
		goto out;
	g.ctl_len = (cfg->ctl->value_size + 4095) & ~4095u;
	g.ctl = mmap(NULL, g.ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED, g.ctl_fd, 0);
	if (g.ctl == MAP_FAILED) {
		g.ctl = NULL;
		vmt_fail(t, "mmap of the control array: %s", vmt_errname(-errno));
		goto out;
	}
	for (__u32 k = 0; k < cfg->keys; k++) {
		__u64 rev = vmt_gc_new_rev(&g);

		vmt_gc_value(&g, v, k, rev);
		rc = vmt_update(cfg->ct, g.ct_fd, &k, v, BPF_NOEXIST);
		if (!vmt_expect(t, "insert the live entries", rc, 0))
			goto out;
		g.rec[k] = rev;
	}
	if (cfg->use_program) {
		int fds[2] = { g.ct_fd, g.ctl_fd };

		g.prog_fd = vmt_prog_load_maps(t, "vmt_gc_bump", cfg->insns, cfg->insn_cnt, cfg->relocs, cfg->nrelocs, fds);
		if (g.prog_fd < 0)
			goto out;
		if (pthread_create(&runner, NULL, vmt_gc_runner, &g) == 0)
			have_runner = 1;
	}
	if (cfg->use_updater && pthread_create(&updater, NULL, vmt_gc_updater, &g) == 0)
		have_updater = 1;
	if (have_runner != cfg->use_program || have_updater != cfg->use_updater) {
		vmt_fail(t, "pthread_create failed");
		goto stop;
	}

	vmt_diag("rule: a delete of key k, snapshot revision s, deleted a live entry iff the last replacing update of k has another generation than s, or a bump of k past s within s's generation was confirmed before the GC announced the delete");
	started = vmt_now();
	deadline = started + *cfg->max_seconds;
	for (rounds = 0; rounds < *cfg->rounds && vmt_now() < deadline && !__atomic_load_n(&g.stop, __ATOMIC_ACQUIRE) &&
			 (!cfg->contested || (long)(kept + live) < *cfg->contested);
	     rounds++) {
		rc = vmt_gc_snapshot(&g, snap_keys, snap_revs, cfg->keys, &n);
		if (rc) {
			vmt_fail(t, "round %ld: BPF_MAP_LOOKUP_BATCH: %s", rounds, vmt_errname(rc));
			goto stop;
		}
		if (n != (long)cfg->keys) {
			vmt_fail(t, "round %ld: snapshot holds %ld entries, expected all %u live keys", rounds, n, cfg->keys);
			goto stop;
		}
		snapshotted += n;
		/* The GC judged every entry of its snapshot expired: each delete races the datapath's refreshes. */
		for (long i = 0; i < n; i++) {
			__u32 k = snap_keys[i];
			__u64 s = snap_revs[i], last, ledger;
			int by_update, by_bump;

			__atomic_store_n(VMT_GC_MARKER_OF(&g, k), 1, __ATOMIC_SEQ_CST);
			rc = vmt_gc_delete(&g, k, s);
			if (rc == -EBUSY && cfg->use_compare) {
				kept++;
				__atomic_store_n(VMT_GC_MARKER_OF(&g, k), 0, __ATOMIC_SEQ_CST);
				continue;
			}
			if (rc) {
				vmt_fail(t, "round %ld: delete of key %u (snapshot revision 0x%llx): %s", rounds, k, (unsigned long long)s, vmt_errname(rc));
				goto stop;
			}
			deleted++;
			if (cfg->use_program && vmt_gc_wait_runs(&g)) {
				vmt_fail(t, "round %ld: the BPF program did not finish a run within 10 s", rounds);
				goto stop;
			}
			pthread_mutex_lock(&g.mu[k]);
			last = g.rec[k];
			ledger = __atomic_load_n(VMT_GC_LEDGER_OF(&g, k), __ATOMIC_SEQ_CST);
			by_update = (last >> 32) != (s >> 32);
			by_bump = (ledger >> 32) == (s >> 32) && ledger > s;
			if (by_update || by_bump) {
				live++;
				live_update += by_update;
				live_bump += !by_update && by_bump;
				if (live <= 3)
					vmt_diag("live entry deleted: round %ld key %u snapshot revision 0x%llx; last replacing update 0x%llx, last confirmed bump 0x%llx",
						 rounds, k, (unsigned long long)s, (unsigned long long)last, (unsigned long long)ledger);
			}
			/* The connection comes back: re-insert it with a new generation, still under the mutex. */
			last = vmt_gc_new_rev(&g);
			vmt_gc_value(&g, v, k, last);
			rc = vmt_update(cfg->ct, g.ct_fd, &k, v, BPF_NOEXIST);
			if (rc == 0)
				g.rec[k] = last;
			pthread_mutex_unlock(&g.mu[k]);
			__atomic_store_n(VMT_GC_MARKER_OF(&g, k), 0, __ATOMIC_SEQ_CST);
			if (!vmt_expect(t, "re-insert after the GC's delete", rc, 0))
				goto stop;
		}
	}
stop:
	__atomic_store_n(&g.stop, 1, __ATOMIC_SEQ_CST);
	if (have_updater)
		pthread_join(updater, NULL);
	if (have_runner)
		pthread_join(runner, NULL);
	if (g.thread_failed)
		vmt_fail(t, "%s", g.thread_msg);
	vmt_diag("%ld rounds in %.2f s; snapshots %llu entries; GC deletes %llu, kept by BPF_F_COMPARE (EBUSY) %llu",
		 rounds, vmt_now() - started, (unsigned long long)snapshotted, (unsigned long long)deleted, (unsigned long long)kept);
	if (cfg->contested)
		vmt_diag("bounds: %ld rounds, %ld s, or %ld contested deletes (kept with EBUSY, or a live entry deleted): %llu seen",
			 *cfg->rounds, *cfg->max_seconds, *cfg->contested, (unsigned long long)(kept + live));
	vmt_diag("datapath: %llu replacing updates (%llu found the key deleted: ENOENT); %llu program runs x %ld: %llu bumps confirmed, %llu racing a delete",
		 (unsigned long long)g.updates, (unsigned long long)g.update_enoent, (unsigned long long)g.runs, *cfg->run_repeat,
		 (unsigned long long)(g.ctl ? g.ctl[VMT_GC_CONFIRMED] : 0), (unsigned long long)(g.ctl ? g.ctl[VMT_GC_RACING] : 0));
	if (cfg->live_must_be_zero) {
		vmt_diag("live entries deleted: %llu (after a replacing update: %llu, after a confirmed bump: %llu); must be 0",
			 (unsigned long long)live, (unsigned long long)live_update, (unsigned long long)live_bump);
		if (live)
			vmt_fail(t, "%llu live entries deleted although the GC compared the revision", (unsigned long long)live);
	} else {
		vmt_diag("characterisation (not a pass/fail check): live entries deleted %llu (after a replacing update: %llu, after a confirmed bump: %llu)",
			 (unsigned long long)live, (unsigned long long)live_update, (unsigned long long)live_bump);
	}
	if (!t->failed && rounds == 0)
		vmt_fail(t, "no GC round ran within %ld s", *cfg->max_seconds);
	if (t->failed)
		goto out;
	/* Quiescent round: with the datapath stopped nothing is refreshed, so every delete of a fresh snapshot must succeed. */
	rc = vmt_gc_snapshot(&g, snap_keys, snap_revs, cfg->keys, &n);
	if (!vmt_expect(t, "quiescent snapshot", rc, 0))
		goto out;
	for (long i = 0; i < n; i++) {
		rc = vmt_gc_delete(&g, snap_keys[i], snap_revs[i]);
		if (rc == 0)
			quiet_deleted++;
		else
			vmt_fail(t, "quiescent round: delete of key %u at its current revision 0x%llx: %s", snap_keys[i], (unsigned long long)snap_revs[i], vmt_errname(rc));
	}
	vmt_diag("quiescent round: %ld of %ld unchanged entries deleted", quiet_deleted, n);
	if (n != (long)cfg->keys)
		vmt_fail(t, "quiescent snapshot holds %ld entries, expected %u", n, cfg->keys);
out:
	if (g.ctl)
		munmap(g.ctl, g.ctl_len);
	if (g.prog_fd >= 0)
		close(g.prog_fd);
	if (g.ctl_fd >= 0)
		close(g.ctl_fd);
	if (g.ct_fd >= 0)
		close(g.ct_fd);
	free(snap_keys);
	free(snap_revs);
	free(v);
	free(g.mu);
	free(g.rec);
	return t->failed ? VMT_FAIL : VMT_PASS;
}
