/* blkbench.h: blktest's benchmark mode (cmdline "bench ..."): 4 KiB random reads and writes at queue depth 1 and 32. */
#ifndef BLKTEST_BLKBENCH_H
#define BLKTEST_BLKBENCH_H

#define BLKBENCH_CMDLINE "bench"

/* Runs the benchmark the command line describes, then exits (never returns). */
int blkbench_main(const char *cmdline);

#endif
