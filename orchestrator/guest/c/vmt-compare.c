/* What the BPF_F_COMPARE series adds (see vmt-compare.h); empty when the headers lack it. */
#include "vmt-compare.h"

#if VMT_HAVE_COMPARE

int vmt_delete_compare(int fd, const void *key, const void *expected, __u32 off, __u32 size)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = vmt_ptr(key);
	attr.flags = BPF_F_COMPARE;
	attr.compare = vmt_ptr(expected);
	attr.compare_offset = off;
	attr.compare_size = size;
	return vmt_bpf(BPF_MAP_DELETE_ELEM, &attr);
}

int vmt_delete_compare_args(int fd, const void *key, __u64 flags, const struct vmt_compare_args *args)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = vmt_ptr(key);
	attr.flags = flags;
	if (args->set & VMT_SET_COMPARE)
		attr.compare = args->pointer == VMT_COMPARE_BAD ? vmt_unmapped_ptr()
			     : args->pointer == VMT_COMPARE_NULL ? 0 : vmt_ptr(args->expected);
	if (args->set & VMT_SET_COMPARE_OFFSET)
		attr.compare_offset = args->offset;
	if (args->set & VMT_SET_COMPARE_SIZE)
		attr.compare_size = args->size;
	return vmt_bpf(BPF_MAP_DELETE_ELEM, &attr);
}

int vmt_probe_compare(char *reason, size_t cap)
{
	static const struct vmt_map_desc d = { "vmt_probe", BPF_MAP_TYPE_HASH, 4, 8, 1, 0, 0, NULL };
	struct vmt_case probe = { "probe", NULL, 0 };
	__u64 expected = 0;
	__u32 key = 0;
	int fd = vmt_map_create(&probe, &d, -1), rc;

	if (fd < 0) {
		snprintf(reason, cap, "feature probe: BPF_MAP_CREATE failed: %s", vmt_errname(fd));
		return -1;
	}
	/* A 1-byte window, not the whole value: a kernel with the series answers ENOENT whatever its whole-value
	 * path does (a broken size check there must fail the cases that use it, not turn them into SKIPs). */
	rc = vmt_delete_compare(fd, &key, &expected, 0, 1);
	close(fd);
	if (rc == -ENOENT)
		return 1;
	if (rc == -EINVAL) {
		snprintf(reason, cap, "the kernel lacks BPF_F_COMPARE (feature probe: a BPF_F_COMPARE delete of an absent key gave EINVAL, not ENOENT)");
		return 0;
	}
	snprintf(reason, cap, "feature probe: a BPF_F_COMPARE delete of an absent key gave %s; expected ENOENT (series present) or EINVAL (absent)", vmt_errname(rc));
	return -1;
}

#endif
