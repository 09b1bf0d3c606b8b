/* The control: the same busy loop of syscalls, none of which touches bpf_prog_active. */
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { for (;;) { syscall(__NR_getppid); syscall(__NR_getppid); syscall(__NR_getppid); } }
