/* The runtime every guest suite program is built on: raw bpf(2), KTAP output, parameters, maps, programs.
 * It names nothing the BPF_F_COMPARE series adds, so it compiles against patched and pristine UAPI headers. */
#ifndef VMT_RUNTIME_H
#define VMT_RUNTIME_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/btf.h>

/* 1 when the installed linux/bpf.h has the series (BPF_F_COMPARE is an enum, so the generator decides, not #ifdef). */
#ifndef VMT_HAVE_COMPARE
#define VMT_HAVE_COMPARE 0
#endif

/* The kernel's internal "not supported" errno reaches userspace from some BPF paths; libc does not name it. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define VMT_INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define VMT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The largest map value a suite may describe (suite-model.ts checks it). */
#define VMT_VALUE_MAX 4096

enum vmt_status { VMT_PASS, VMT_FAIL, VMT_SKIP };

/* One running case: its diagnostics go out as KTAP "# " lines before its result line. */
struct vmt_case {
	const char *name;
	const char *skip_reason;
	int failed;
};

/* Every bound has a default and can be overridden as name=value on the command line. */
struct vmt_param {
	const char *name;
	long value;
	long min;
	long max;
	const char *doc;
};

/* Hand-built BTF for a map whose value holds a bpf_spin_lock. */
struct vmt_btf_desc {
	const __u32 *types;
	__u32 types_len;
	const char *strs;
	__u32 strs_len;
	__u32 key_type_id;
	__u32 value_type_id;
};

struct vmt_map_desc {
	const char *name;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
	int percpu;
	const struct vmt_btf_desc *btf;
};

/* Instruction index whose imm takes the fd of map number `map` (an index into the fds given at load). */
struct vmt_reloc {
	__u32 index;
	__u32 map;
};

/* One case of a suite, as the generated program lists it. */
struct vmt_case_desc {
	const char *name;
	/* The claim the case checks; printed as "# <name>: <claim>". */
	const char *claim;
	int needs_compare;
	/* NULL when the case is compiled as SKIP; arg is its table (steps, scenario config). */
	enum vmt_status (*run)(struct vmt_case *t, const void *arg);
	const void *arg;
	const char *static_skip;
	/* The case's time bound: its watchdog allows twice that plus a minute; NULL for a fixed 120 s. */
	const long *max_seconds;
};

struct vmt_suite {
	const char *name;
	const char *summary;
	struct vmt_param *params;
	size_t nparams;
	const struct vmt_case_desc *cases;
	size_t ncases;
};

/* Defined by the generated program; vmt-main.c runs it. */
extern const struct vmt_suite vmt_suite;

const char *vmt_errname(int err);
void vmt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vmt_fail(struct vmt_case *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vmt_expect(struct vmt_case *t, const char *what, int got, int want);
double vmt_now(void);
void vmt_parse_params(struct vmt_param *params, size_t n, int argc, char **argv);

__u64 vmt_ptr(const void *p);
int vmt_bpf(int cmd, union bpf_attr *attr);
int vmt_possible_cpus(void);
int vmt_btf_load(struct vmt_case *t, const struct vmt_btf_desc *d);
int vmt_map_create(struct vmt_case *t, const struct vmt_map_desc *d, int inner_fd);
size_t vmt_value_buf_size(const struct vmt_map_desc *d);
int vmt_update(const struct vmt_map_desc *d, int fd, const void *key, const void *value, __u64 flags);
int vmt_lookup(const struct vmt_map_desc *d, int fd, const void *key, void *out, __u64 flags);
int vmt_delete(int fd, const void *key, __u64 flags);
__u64 vmt_unmapped_ptr(void);
void vmt_hex(char *out, size_t cap, const unsigned char *p, size_t n);

int vmt_prog_load(struct vmt_case *t, const char *name, struct bpf_insn *insns, __u32 count);
int vmt_prog_load_maps(struct vmt_case *t, const char *name, struct bpf_insn *insns, __u32 count,
		       const struct vmt_reloc *relocs, size_t nrelocs, const int *fds);
int vmt_prog_run(int prog_fd, __u32 repeat);

void vmt_watchdog(const char *name, unsigned sec);

#endif
