/*
 * Shared main() for the Check suites. Each test file defines
 * `Suite *unit_suite(void);` and includes this header once: results go to
 * stdout as TAP for automake's tap-driver, each test runs in its own
 * forked process (CK_FORK, the default) so a crash fails one test only.
 */
#ifndef OVL_TESTS_UNIT_H
#define OVL_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

Suite *unit_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(unit_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
