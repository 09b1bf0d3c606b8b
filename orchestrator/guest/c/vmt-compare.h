/* What the BPF_F_COMPARE series adds: a delete that compares a window of the value first.
 * The definitions (vmt-compare.c) exist only when VMT_HAVE_COMPARE is 1. */
#ifndef VMT_COMPARE_H
#define VMT_COMPARE_H

#include "vmt-runtime.h"

/* What attr.compare points at. */
enum vmt_compare_pointer {
	VMT_COMPARE_EXPECTED,	/* the expected bytes */
	VMT_COMPARE_BAD,	/* an unmapped address */
	VMT_COMPARE_NULL,	/* 0 */
};

/* Which compare* fields of bpf_attr a delete sets; the others stay zero. */
#define VMT_SET_COMPARE		(1u << 0)
#define VMT_SET_COMPARE_OFFSET	(1u << 1)
#define VMT_SET_COMPARE_SIZE	(1u << 2)
#define VMT_SET_ALL		(VMT_SET_COMPARE | VMT_SET_COMPARE_OFFSET | VMT_SET_COMPARE_SIZE)

/* The compare* fields of one BPF_MAP_DELETE_ELEM, as a steps table gives them. */
struct vmt_compare_args {
	const unsigned char *expected;
	__u32 offset;
	__u32 size;
	enum vmt_compare_pointer pointer;
	unsigned set;
};

/* A BPF_F_COMPARE delete of key, comparing size bytes at off with expected. */
int vmt_delete_compare(int fd, const void *key, const void *expected, __u32 off, __u32 size);

/* A delete with flags and the compare* fields exactly as args says (also without BPF_F_COMPARE). */
int vmt_delete_compare_args(int fd, const void *key, __u64 flags, const struct vmt_compare_args *args);

/* 1: the kernel has BPF_F_COMPARE; 0: it does not (reason says so); -1: it answered something else. */
int vmt_probe_compare(char *reason, size_t cap);

#endif
