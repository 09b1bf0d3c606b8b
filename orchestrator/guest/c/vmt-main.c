/* main: run the generated program's vmt_suite, KTAP version 1 on stdout, exit 1 if any case failed. */
#include "vmt-runtime.h"
#include "vmt-compare.h"

int main(int argc, char **argv)
{
	char compare_reason[256] = "";
	int have_compare = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmt_parse_params(vmt_suite.params, vmt_suite.nparams, argc, argv);
	printf("KTAP version 1\n1..%zu\n", vmt_suite.ncases);
	vmt_diag("%s: %s", vmt_suite.name, vmt_suite.summary);
#if VMT_HAVE_COMPARE
	/* The headers have the series; if a case needs it, ask the kernel too. */
	for (size_t i = 0; i < vmt_suite.ncases; i++) {
		if (!vmt_suite.cases[i].needs_compare)
			continue;
		have_compare = vmt_probe_compare(compare_reason, sizeof(compare_reason));
		if (have_compare != 1)
			vmt_diag("%s", compare_reason);
		break;
	}
#endif
	for (size_t i = 0; i < vmt_suite.ncases; i++) {
		const struct vmt_case_desc *c = &vmt_suite.cases[i];
		struct vmt_case t = { c->name, NULL, 0 };
		const char *skip = c->static_skip;
		enum vmt_status status;
		double t0 = vmt_now();

		vmt_diag("%s: %s", c->name, c->claim);
		if (!skip && c->needs_compare && have_compare == 0)
			skip = compare_reason;
		if (skip) {
			status = VMT_SKIP;
		} else if (c->needs_compare && have_compare < 0) {
			vmt_fail(&t, "%s", compare_reason);
			status = VMT_FAIL;
		} else {
			vmt_watchdog(c->name, c->max_seconds ? (unsigned)(*c->max_seconds * 2 + 60) : 120);
			status = c->run(&t, c->arg);
			alarm(0);
			vmt_diag("%s took %.2f s", c->name, vmt_now() - t0);
		}
		if (skip)
			printf("ok %zu %s # SKIP %s\n", i + 1, c->name, skip);
		else
			printf("%s %zu %s\n", status == VMT_PASS ? "ok" : "not ok", i + 1, c->name);
		fflush(stdout);
		failed |= status == VMT_FAIL;
	}
	return failed ? 1 : 0;
}
