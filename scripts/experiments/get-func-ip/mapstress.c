/* The experiment's stressor (run.sh): one hash map updated, looked up and deleted in a loop, each syscall inside
 * bpf_disable_instrumentation(), which holds the CPU's bpf_prog_active under migrate_disable() only. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static long bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }
int main(void) {
	union bpf_attr a; memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH; a.key_size = 4; a.value_size = 8; a.max_entries = 1024;
	int fd = bpf(BPF_MAP_CREATE, &a);
	if (fd < 0) { perror("map_create"); return 1; }
	unsigned int k = 0; unsigned long v = 0;
	for (;;) {
		memset(&a, 0, sizeof(a)); a.map_fd = fd; a.key = (unsigned long)&k; a.value = (unsigned long)&v;
		bpf(BPF_MAP_UPDATE_ELEM, &a); bpf(BPF_MAP_LOOKUP_ELEM, &a); bpf(BPF_MAP_DELETE_ELEM, &a);
		k = (k + 1) % 1024;
	}
}
