/*
 * LD_PRELOAD shim for the benchmark's durable-commit profile: every fsync and fdatasync the
 * database server makes (redo log at commit, binlog with sync_binlog=1) waits
 * LG_FSYNC_DELAY_US microseconds before the real call, standing in for a storage commit that
 * takes longer than this machine's disk (Aurora's commit goes to a storage quorum across zones).
 * Only durability waits are slowed; reads, writes and everything else run at full speed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static long delay_us = -1;

static void wait_for_storage(void) {
  if (delay_us < 0) {
    const char *value = getenv("LG_FSYNC_DELAY_US");
    delay_us = value ? atol(value) : 0;
  }
  if (delay_us > 0) {
    struct timespec pause = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    nanosleep(&pause, NULL);
  }
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  wait_for_storage();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  wait_for_storage();
  return real(fd);
}
