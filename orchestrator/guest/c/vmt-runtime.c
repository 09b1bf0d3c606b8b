/* The runtime every guest suite program is built on: see vmt-runtime.h. */
#include "vmt-runtime.h"

/* The errnos a suite may expect (suite-model.ts ERRNOS, checked by test/guest/c-files.test.ts), named in messages. */
static const struct { int no; const char *name; } vmt_errnos[] = {
	{ EPERM, "EPERM" },
	{ ENOENT, "ENOENT" },
	{ E2BIG, "E2BIG" },
	{ EBADF, "EBADF" },
	{ EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },
	{ EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" },
	{ EINVAL, "EINVAL" },
	{ ENOSPC, "ENOSPC" },
	{ ERANGE, "ERANGE" },
	{ ENOSYS, "ENOSYS" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },
	{ ENOTSUPP, "ENOTSUPP" },
};

const char *vmt_errname(int err)
{
	static __thread char buf[32];
	int no = err < 0 ? -err : err;

	if (err == 0)
		return "0 (success)";
	for (size_t i = 0; i < VMT_ARRAY_SIZE(vmt_errnos); i++)
		if (vmt_errnos[i].no == no)
			return vmt_errnos[i].name;
	snprintf(buf, sizeof(buf), "errno %d", no);
	return buf;
}

/* ---- KTAP diagnostics ---- */

static pthread_mutex_t vmt_out_lock = PTHREAD_MUTEX_INITIALIZER;

void vmt_diag(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&vmt_out_lock);
	for (char *p = line, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		printf("# %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
	fflush(stdout);
	pthread_mutex_unlock(&vmt_out_lock);
}

void vmt_fail(struct vmt_case *t, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->failed = 1;
	vmt_diag("FAIL: %s", line);
}

/* Compare a syscall result with the expected one (0 or -errno); say both by name when they differ. */
int vmt_expect(struct vmt_case *t, const char *what, int got, int want)
{
	if (want == 0 ? got >= 0 : got == want)
		return 1;
	vmt_fail(t, "%s: expected %s, got %s", what, want ? vmt_errname(want) : "success", got >= 0 ? "success" : vmt_errname(got));
	return 0;
}

double vmt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- parameters: name=value on the command line, each within its range; --help lists them ---- */

void vmt_parse_params(struct vmt_param *params, size_t n, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t j;
		char *end;
		long v;

		if (!strcmp(argv[i], "--help") || !eq) {
			fprintf(stderr, "usage: %s [name=value]...\n", argv[0]);
			for (j = 0; j < n; j++)
				fprintf(stderr, "  %s=%ld  [%ld..%ld] %s\n", params[j].name, params[j].value, params[j].min, params[j].max, params[j].doc);
			exit(2);
		}
		for (j = 0; j < n; j++)
			if (strlen(params[j].name) == (size_t)(eq - argv[i]) && !strncmp(params[j].name, argv[i], eq - argv[i]))
				break;
		v = strtol(eq + 1, &end, 0);
		if (j == n || *end || v < params[j].min || v > params[j].max) {
			fprintf(stderr, "%s: unknown parameter or value out of range: %s\n", argv[0], argv[i]);
			exit(2);
		}
		params[j].value = v;
	}
}

/* ---- bpf(2) ---- */

__u64 vmt_ptr(const void *p)
{
	return (__u64)(unsigned long)p;
}

int vmt_bpf(int cmd, union bpf_attr *attr)
{
	long ret = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return ret < 0 ? -errno : (int)ret;
}

/* ---- maps ---- */

int vmt_possible_cpus(void)
{
	static int n;
	char buf[128];
	int fd, len, lo, hi;
	char *p;

	if (n)
		return n;
	fd = open("/sys/devices/system/cpu/possible", O_RDONLY);
	len = fd < 0 ? -1 : (int)read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return n = (int)sysconf(_SC_NPROCESSORS_CONF);
	buf[len] = 0;
	for (p = buf, n = 0; *p && *p != '\n';) {
		lo = (int)strtol(p, &p, 10);
		hi = lo;
		if (*p == '-')
			hi = (int)strtol(p + 1, &p, 10);
		n += hi - lo + 1;
		if (*p == ',')
			p++;
	}
	return n;
}

int vmt_btf_load(struct vmt_case *t, const struct vmt_btf_desc *d)
{
	static char log[16384];
	struct btf_header hdr = {
		.magic = BTF_MAGIC,
		.version = BTF_VERSION,
		.hdr_len = sizeof(struct btf_header),
		.type_off = 0,
		.type_len = d->types_len,
		.str_off = d->types_len,
		.str_len = d->strs_len,
	};
	size_t size = sizeof(hdr) + d->types_len + d->strs_len;
	unsigned char *blob = malloc(size);
	union bpf_attr attr;
	int fd;

	if (!blob)
		return -ENOMEM;
	memcpy(blob, &hdr, sizeof(hdr));
	memcpy(blob + sizeof(hdr), d->types, d->types_len);
	memcpy(blob + sizeof(hdr) + d->types_len, d->strs, d->strs_len);
	memset(&attr, 0, sizeof(attr));
	attr.btf = vmt_ptr(blob);
	attr.btf_size = size;
	attr.btf_log_buf = vmt_ptr(log);
	attr.btf_log_size = sizeof(log);
	attr.btf_log_level = 1;
	log[0] = 0;
	fd = vmt_bpf(BPF_BTF_LOAD, &attr);
	free(blob);
	if (fd < 0)
		vmt_fail(t, "BPF_BTF_LOAD: %s\n%s", vmt_errname(fd), log);
	return fd;
}

int vmt_map_create(struct vmt_case *t, const struct vmt_map_desc *d, int inner_fd)
{
	union bpf_attr attr;
	int fd, btf_fd = -1;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = d->type;
	attr.key_size = d->key_size;
	attr.value_size = d->value_size;
	attr.max_entries = d->max_entries;
	attr.map_flags = d->map_flags;
	attr.inner_map_fd = inner_fd > 0 ? inner_fd : 0;
	strncpy(attr.map_name, d->name, sizeof(attr.map_name) - 1);
	if (d->btf) {
		btf_fd = vmt_btf_load(t, d->btf);
		if (btf_fd < 0)
			return btf_fd;
		attr.btf_fd = btf_fd;
		attr.btf_key_type_id = d->btf->key_type_id;
		attr.btf_value_type_id = d->btf->value_type_id;
	}
	fd = vmt_bpf(BPF_MAP_CREATE, &attr);
	if (btf_fd >= 0)
		close(btf_fd);
	if (fd < 0)
		vmt_fail(t, "BPF_MAP_CREATE %s: %s", d->name, vmt_errname(fd));
	return fd;
}

/* Syscall value buffers of per-CPU maps hold one 8-byte-aligned slot per possible CPU. */
size_t vmt_value_buf_size(const struct vmt_map_desc *d)
{
	return d->percpu ? (size_t)((d->value_size + 7) & ~7u) * vmt_possible_cpus() : d->value_size;
}

/* BPF_MAP_UPDATE_ELEM and BPF_MAP_LOOKUP_ELEM take the same four fields. */
static int vmt_elem_cmd(enum bpf_cmd cmd, int fd, const void *key, const void *value, __u64 flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = vmt_ptr(key);
	attr.value = vmt_ptr(value);
	attr.flags = flags;
	return vmt_bpf(cmd, &attr);
}

/* Update with value_size bytes; a per-CPU map gets the same value on every CPU. */
int vmt_update(const struct vmt_map_desc *d, int fd, const void *key, const void *value, __u64 flags)
{
	size_t slot = (d->value_size + 7) & ~7u;
	unsigned char *buf = NULL;
	int ret;

	if (d->percpu) {
		buf = calloc(1, vmt_value_buf_size(d));
		if (!buf)
			return -ENOMEM;
		for (int cpu = 0; cpu < vmt_possible_cpus(); cpu++)
			memcpy(buf + cpu * slot, value, d->value_size);
		value = buf;
	}
	ret = vmt_elem_cmd(BPF_MAP_UPDATE_ELEM, fd, key, value, flags);
	free(buf);
	return ret;
}

/* Look up into out (value_size bytes; per-CPU maps give CPU 0's copy). */
int vmt_lookup(const struct vmt_map_desc *d, int fd, const void *key, void *out, __u64 flags)
{
	unsigned char *buf = NULL;
	int ret;

	if (d->percpu) {
		buf = calloc(1, vmt_value_buf_size(d));
		if (!buf)
			return -ENOMEM;
	}
	ret = vmt_elem_cmd(BPF_MAP_LOOKUP_ELEM, fd, key, buf ? (void *)buf : out, flags);
	if (buf && ret == 0)
		memcpy(out, buf, d->value_size);
	free(buf);
	return ret;
}

int vmt_delete(int fd, const void *key, __u64 flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = vmt_ptr(key);
	attr.flags = flags;
	return vmt_bpf(BPF_MAP_DELETE_ELEM, &attr);
}

/* An address with nothing mapped behind it: a page mapped and unmapped again. */
__u64 vmt_unmapped_ptr(void)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 8;
	munmap(p, 4096);
	return vmt_ptr(p);
}

/* Bytes as hex, a space after every 8, cut to fit cap. */
void vmt_hex(char *out, size_t cap, const unsigned char *p, size_t n)
{
	size_t used = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && used + 4 < cap; i++)
		used += snprintf(out + used, cap - used, "%02x%s", p[i], (i + 1) % 8 || i + 1 == n ? "" : " ");
}

/* ---- programs: raw instructions (the generated program's tables), loaded as socket filters ---- */

int vmt_prog_load(struct vmt_case *t, const char *name, struct bpf_insn *insns, __u32 count)
{
	static char log[65536];
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = vmt_ptr(insns);
	attr.insn_cnt = count;
	attr.license = vmt_ptr("GPL");
	attr.log_buf = vmt_ptr(log);
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
	log[0] = 0;
	fd = vmt_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0) {
		size_t len = strlen(log);
		/* The end of the verifier log says why. */
		vmt_fail(t, "BPF_PROG_LOAD %s: %s\n%s", name, vmt_errname(fd), len > 900 ? log + len - 900 : log);
	}
	return fd;
}

/* Patch map fds into ld_imm64 instructions, then load. */
int vmt_prog_load_maps(struct vmt_case *t, const char *name, struct bpf_insn *insns, __u32 count,
		       const struct vmt_reloc *relocs, size_t nrelocs, const int *fds)
{
	for (size_t i = 0; i < nrelocs; i++)
		insns[relocs[i].index].imm = fds[relocs[i].map];
	return vmt_prog_load(t, name, insns, count);
}

/* Run a socket filter repeat times on a 64-byte zero packet. */
int vmt_prog_run(int prog_fd, __u32 repeat)
{
	static const unsigned char packet[64];
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = prog_fd;
	attr.test.data_in = vmt_ptr(packet);
	attr.test.data_size_in = sizeof(packet);
	attr.test.repeat = repeat;
	return vmt_bpf(BPF_PROG_TEST_RUN, &attr);
}

/* ---- a watchdog, so a hung case names itself instead of leaving a silent guest ---- */

static const char *volatile vmt_current_case = "(setup)";
static unsigned vmt_watchdog_sec;

static void vmt_on_alarm(int sig)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "# watchdog: case %s still running after %u s; giving up\n", vmt_current_case, vmt_watchdog_sec);

	(void)sig;
	if (write(1, line, n) < 0)
		_exit(1);
	_exit(1);
}

void vmt_watchdog(const char *name, unsigned sec)
{
	vmt_current_case = name;
	vmt_watchdog_sec = sec;
	signal(SIGALRM, vmt_on_alarm);
	alarm(sec);
}
