/* toucher: /init of the nested test guest (tests/vm/build-toucher-initramfs.sh).
 *
 * Mounts /proc, reads MemAvailable, allocates MemAvailable minus a reserve and writes every
 * page of it, prints "toucher: touched N MiB" on the console and powers the guest off (with
 * qemu's -no-reboot, qemu then exits 0).  Used to make a real qemu inside the test VM use all
 * of its guest RAM, so that the host-side memory of a running guest can be measured.
 *
 * Kernel command line options:
 *   toucher.reserve_mb=N  MiB of MemAvailable left untouched (default 16)
 *   toucher.hold_s=N      seconds to stay up after touching, before powering off (default 0)
 *   toucher.code_kb=N     then run N KiB of distinct code (16-byte blocks, each run once), as a
 *                         booted system with applications does: under TCG every block becomes a
 *                         translated block in qemu's translation cache (default 0)
 *   toucher.thp=0|1       ask for transparent huge pages (default 0; 1 means far fewer page faults,
 *                         but no faster under nested TCG: the guest still zeroes, and so writes,
 *                         every byte of the memory it hands out)
 *
 * Static, no libc beyond what glibc -static provides; never returns (PID 1 must not exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf))
        n = sizeof(buf) - 1;
    if (write(1, buf, (size_t)n) < 0) {
        /* nothing better to do */
    }
}

static void
power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    /* PID 1 must never exit: that would panic the guest. */
    for (;;)
        pause();
}

static void
fail(const char *what)
{
    say("toucher: FAILED: %s: %s\n", what, strerror(errno));
    power_off();
}

static void
setup_console(void)
{
    int fd;

    if (fcntl(1, F_GETFD) != -1)
        return;
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

/* Value of "key" (e.g. "toucher.reserve_mb=") in /proc/cmdline, or def. */
static long
cmdline_long(const char *cmdline, const char *key, long def)
{
    const char *p = cmdline;
    size_t klen = strlen(key);

    while ((p = strstr(p, key)) != NULL) {
        if (p == cmdline || p[-1] == ' ') {
            char *end;
            long v = strtol(p + klen, &end, 10);
            if (end != p + klen && v >= 0)
                return v;
        }
        p += klen;
    }
    return def;
}

static long
meminfo_kib(const char *field)
{
    char line[256];
    size_t flen = strlen(field);
    long v = -1;
    FILE *f = fopen("/proc/meminfo", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            v = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes @kib KiB of 16-byte blocks "mov $i, %eax; ret" and calls each once.  Distinct guest
 * code is what grows a TCG host's translation cache; a tight loop never would. */
static void
run_code(long kib)
{
    size_t len = (size_t)kib << 10, blocks = len / 16;
    unsigned char *code;
    unsigned long sum = 0;
    double t0 = now_s();

    code = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED)
        fail("mmap code");
    for (size_t i = 0; i < blocks; i++) {
        unsigned char *b = code + i * 16;
        uint32_t v = (uint32_t)i;
        b[0] = 0xb8; /* mov $imm32, %eax */
        memcpy(b + 1, &v, sizeof(v));
        b[5] = 0xc3; /* ret */
    }
    for (size_t i = 0; i < blocks; i++)
        sum += ((unsigned (*)(void))(void *)(code + i * 16))();
    say("toucher: ran %zu code blocks (%ld KiB) in %.2f s (sum %lu)\n", blocks, kib, now_s() - t0,
        sum);
}

int
main(void)
{
    char cmdline[4096] = "";
    long reserve_mb, hold_s, thp, code_kb, avail_kib, total_kib, touch_mib;
    size_t len, off, page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *mem;
    double t0, t1;
    int fd;
    ssize_t n;

    setup_console();
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", 0, NULL) != 0 && errno != EBUSY)
        fail("mount /proc");

    fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        n = read(fd, cmdline, sizeof(cmdline) - 1);
        cmdline[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    reserve_mb = cmdline_long(cmdline, "toucher.reserve_mb=", 16);
    hold_s = cmdline_long(cmdline, "toucher.hold_s=", 0);
    thp = cmdline_long(cmdline, "toucher.thp=", 0);
    code_kb = cmdline_long(cmdline, "toucher.code_kb=", 0);

    total_kib = meminfo_kib("MemTotal");
    avail_kib = meminfo_kib("MemAvailable");
    if (avail_kib < 0) {
        errno = ENOENT;
        fail("no MemAvailable in /proc/meminfo");
    }
    touch_mib = avail_kib / 1024 - reserve_mb;
    if (touch_mib < 1)
        touch_mib = 1;
    say("toucher: MemTotal %ld MiB, MemAvailable %ld MiB, reserve %ld MiB, touching %ld MiB\n",
        total_kib / 1024, avail_kib / 1024, reserve_mb, touch_mib);

    len = (size_t)touch_mib << 20;
    /* 2 MiB aligned, so that huge pages can back all of it */
    mem = mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        fail("mmap");
    mem = (unsigned char *)(((uintptr_t)mem + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
    if (thp && madvise(mem, len, MADV_HUGEPAGE) != 0)
        say("toucher: madvise(MADV_HUGEPAGE): %s (going on with small pages)\n", strerror(errno));
    t0 = now_s();
    for (off = 0; off < len; off += page)
        mem[off] = (unsigned char)(off / page) | 1;
    t1 = now_s();
    say("toucher: touched %ld MiB in %.2f s, MemAvailable now %ld MiB\n", touch_mib, t1 - t0,
        meminfo_kib("MemAvailable") / 1024);
    if (code_kb > 0)
        run_code(code_kb);
    if (hold_s > 0) {
        say("toucher: holding for %ld s\n", hold_s);
        sleep((unsigned int)hold_s);
    }
    say("toucher: powering off\n");
    power_off();
    return 0;
}
