/* toucher: /init of the nested test guest (tests/vm/build-toucher-initramfs.sh).
 *
 * Mounts /proc, reads MemAvailable, allocates MemAvailable minus a reserve and writes every
 * page of it, prints "toucher: touched N MiB" on the console and powers the guest off (with
 * qemu's -no-reboot, qemu then exits 0).  Used to make a real qemu inside the test VM use all
 * of its guest RAM, so that the host-side memory of a running guest can be measured.  Before
 * touching, it can also exercise the devices whose host side a qemu pays for (disk, network,
 * display; see below), and while it holds it onlines the vCPUs a harness hot-adds.  The last
 * line before the power-off is "toucher: done": a qemu that exits 0 without it did not run the
 * guest to its end.
 *
 * Kernel command line options (all optional; the device ones are off by default):
 *   toucher.reserve_mb=N  MiB of MemAvailable left untouched (default 16)
 *   toucher.hold_s=N      seconds to stay up after touching, before powering off (default 0);
 *                         once a second it onlines every offline CPU (hot-added vCPUs: there
 *                         is no udev to do it)
 *   toucher.code_kb=N     then run N KiB of distinct code (16-byte blocks, each run once), as a
 *                         booted system with applications does: under TCG every block becomes a
 *                         translated block in qemu's translation cache (default 0)
 *   toucher.thp=0|1       ask for transparent huge pages (default 0; 1 means far fewer page faults,
 *                         but no faster under nested TCG: the guest still zeroes, and so writes,
 *                         every byte of the memory it hands out)
 *   toucher.disk_mb=N|all on every virtio-blk (vd*) and SCSI (sd*) disk: write N MiB (at most
 *                         the disk's size; all: the whole disk) in 1 MiB O_DIRECT blocks of a
 *                         non-zero pattern, fsync, read it back and check it (it overwrites
 *                         the disks: give the guest throwaway images)
 *   toucher.disk_stride_mb=S  the 1 MiB blocks S MiB apart instead of adjacent (default 1), so
 *                         that what is written spreads over the whole disk as a file system's
 *                         writes do (all: one block every S MiB to the end)
 *   toucher.net_mb=N      on the first network interface but lo: send N MiB over TCP to the
 *                         peer, then receive N MiB from the peer's next port
 *   toucher.ip=A.B.C.D/P  its address (default 10.0.2.15/24: QEMU user networking's guest)
 *   toucher.gw=A.B.C.D    default route (default 10.0.2.2)
 *   toucher.peer=A.B.C.D:PORT  where to send (default 10.0.2.2:5001: user networking forwards
 *                         10.0.2.2 to the host's 127.0.0.1; tests/vm/netpeer.py listens there)
 *   toucher.fb_frames=N   load the display's DRM driver, whose fbdev emulation makes /dev/fb*,
 *                         and redraw each whole framebuffer N times, a frame at most every
 *                         toucher.fb_ms=M milliseconds (default 30, QEMU's display refresh)
 *
 * The kernel modules those need are in the initramfs, in /modules.list ("GROUP MODULE...", in
 * load order; the build script resolves them from modules.dep).  The toucher loads a group only
 * when an option needs it, and the display group of the PCI display device present, then
 * deletes every module file: they are in the guest's RAM.
 *
 * Static, no libc beyond what glibc -static provides; never returns (PID 1 must not exit).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/* Copies the value of "key" (e.g. "toucher.ip=") in /proc/cmdline, or else def, into buf. */
static const char *
cmdline_str(const char *cmdline, const char *key, char *buf, size_t size, const char *def)
{
    const char *p = cmdline;
    size_t klen = strlen(key), n;

    while ((p = strstr(p, key)) != NULL) {
        if (p == cmdline || p[-1] == ' ') {
            p += klen;
            n = strcspn(p, " \n");
            if (n >= size)
                n = size - 1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            return buf;
        }
        p += klen;
    }
    snprintf(buf, size, "%s", def);
    return buf;
}

/* First line of a small file (sysfs), without its newline; "" when unreadable. */
static const char *
read_line(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;

    if (fd >= 0) {
        n = read(fd, buf, size - 1);
        close(fd);
    }
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static int
write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

    if (fd < 0)
        return -1;
    if (write(fd, s, strlen(s)) < 0)
        ret = -1;
    close(fd);
    return ret;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir for which keep(name) is true (NULL: all but dot files); returns the
 * count, fills names (each malloc'd) up to max. */
static int
list_dir(const char *dir, int (*keep)(const char *), char **names, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] == '.' || (keep && !keep(e->d_name)))
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(*names), name_cmp);
    return n;
}

static void
free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

/* ---- kernel modules ---- */

/* Module parameters the toucher wants: SCSI scanning done before finit_module returns, so
 * that the disks are there when the disk phase looks. */
static const char *
module_params(const char *name)
{
    if (strcmp(name, "scsi_mod") == 0)
        return "scan=sync";
    return "";
}

static int n_modules_loaded;

static void
load_module(const char *name)
{
    char path[256], sys[256];
    struct stat st;
    int fd;

    snprintf(sys, sizeof(sys), "/sys/module/%s", name);
    if (stat(sys, &st) == 0)
        return;
    snprintf(path, sizeof(path), "/lib/modules/%s.ko", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("toucher: module %s: %s: %s\n", name, path, strerror(errno));
        return;
    }
    if (syscall(SYS_finit_module, fd, module_params(name), 0) == 0)
        n_modules_loaded++;
    else if (errno != EEXIST && errno != ENODEV && errno != ENXIO)
        /* ENODEV, ENXIO: a driver whose hardware is absent; anything else is worth a line */
        say("toucher: module %s: %s\n", name, strerror(errno));
    close(fd);
}

/* Loads the modules of every /modules.list line whose group is group. */
static void
load_group(const char *group)
{
    char line[1024], *tok, *save;
    FILE *f = fopen("/modules.list", "r");

    if (!f) {
        say("toucher: no /modules.list in the initramfs: cannot load the %s modules\n", group);
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        tok = strtok_r(line, " \n", &save);
        if (!tok || strcmp(tok, group) != 0)
            continue;
        while ((tok = strtok_r(NULL, " \n", &save)) != NULL)
            load_module(tok);
    }
    fclose(f);
}

/* The display group ("fb-VVVV:DDDD", PCI vendor and device) of every PCI device present. */
static void
load_display_groups(void)
{
    char *devs[256], path[512], vendor[16], device[16], group[32];
    int n = list_dir("/sys/bus/pci/devices", NULL, devs, 256);

    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", devs[i]);
        read_line(path, vendor, sizeof(vendor));
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", devs[i]);
        read_line(path, device, sizeof(device));
        if (strlen(vendor) == 6 && strlen(device) == 6) {
            snprintf(group, sizeof(group), "fb-%s:%s", vendor + 2, device + 2);
            load_group(group);
        }
    }
    free_names(devs, n);
}

/* The module files live in the guest's RAM (rootfs): give it back before touching. */
static void
drop_module_files(void)
{
    char *mods[256], path[512];
    int n = list_dir("/lib/modules", NULL, mods, 256);

    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/lib/modules/%s", mods[i]);
        unlink(path);
    }
    free_names(mods, n);
}

/* ---- disks ---- */

static int
is_disk(const char *name)
{
    return (name[0] == 'v' && name[1] == 'd') || (name[0] == 's' && name[1] == 'd');
}

/* The pattern of 1 MiB block blk: never zero (a zero block may cost the host nothing). */
static void
fill_block(uint64_t *buf, size_t words, uint64_t blk)
{
    for (size_t i = 0; i < words; i++)
        buf[i] = 0x5a00000000000000ull | (blk << 24) | i;
}

/* @stride_mb: the blocks are that many MiB apart (1: adjacent), so that the MiB written spread
 * over the whole disk as a file system's do, and an image format's metadata for all of it is
 * read and cached. */
static void
disk_one(const char *name, long want_mb, long stride_mb)
{
    const size_t bs = 1u << 20;
    char path[256], line[64];
    uint64_t *buf;
    long size_mb, mb;
    double t0, tw, tr;
    int fd;

    snprintf(path, sizeof(path), "/sys/block/%s/size", name);
    size_mb = (long)(strtoull(read_line(path, line, sizeof(line)), NULL, 10) / 2048);
    size_mb = (size_mb + stride_mb - 1) / stride_mb; /* blocks that fit */
    mb = want_mb < 0 || want_mb > size_mb ? size_mb : want_mb;
    if (mb < 1) {
        say("toucher: disk %s: %ld MiB, skipped\n", name, size_mb);
        return;
    }
    snprintf(path, sizeof(path), "/dev/%s", name);
    fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0)
        fail(path);
    buf = mmap(NULL, bs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        fail("mmap disk buffer");
    t0 = now_s();
    for (long b = 0; b < mb; b++) {
        fill_block(buf, bs / 8, (uint64_t)b);
        if (pwrite(fd, buf, bs, (off_t)b * stride_mb * (off_t)bs) != (ssize_t)bs)
            fail("disk write");
    }
    if (fsync(fd) != 0)
        fail("disk fsync");
    tw = now_s();
    for (long b = 0; b < mb; b++) {
        if (pread(fd, buf, bs, (off_t)b * stride_mb * (off_t)bs) != (ssize_t)bs)
            fail("disk read");
        if (buf[0] != (0x5a00000000000000ull | ((uint64_t)b << 24)) ||
            buf[bs / 8 - 1] != (0x5a00000000000000ull | ((uint64_t)b << 24) | (bs / 8 - 1))) {
            char what[128];

            snprintf(what, sizeof(what),
                     "disk %s: block %ld reads back other data than was written", name, b);
            errno = EIO;
            fail(what);
        }
    }
    tr = now_s();
    munmap(buf, bs);
    close(fd);
    say("toucher: disk %s wrote %ld MiB in %.2f s, read in %.2f s\n", name, mb, tw - t0, tr - tw);
}

static void
disk_phase(long want_mb, long stride_mb)
{
    char *disks[64];
    int n = list_dir("/sys/block", is_disk, disks, 64);

    if (n == 0) {
        errno = ENODEV;
        fail("toucher.disk_mb: no virtio-blk (vd*) or SCSI (sd*) disk in /sys/block");
    }
    for (int i = 0; i < n; i++)
        disk_one(disks[i], want_mb, stride_mb);
    free_names(disks, n);
}

/* ---- network ---- */

static int
not_lo(const char *name)
{
    return strcmp(name, "lo") != 0;
}

static in_addr_t
parse_ip(const char *opt, const char *s)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1) {
        char what[128];

        snprintf(what, sizeof(what), "%s: '%s' is not an IPv4 address", opt, s);
        errno = EINVAL;
        fail(what);
    }
    return a.s_addr;
}

static void
set_sockaddr(struct sockaddr *sa, in_addr_t addr, unsigned short port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};

    sin.sin_addr.s_addr = addr;
    memcpy(sa, &sin, sizeof(sin));
}

/* Address, netmask, up, default route: what DHCP and udev would have done. */
static void
net_configure(const char *ifname, in_addr_t ip, int prefix, in_addr_t gw)
{
    struct ifreq ifr;
    struct rtentry rt;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    in_addr_t mask = prefix == 0 ? 0 : htonl(~0u << (32 - prefix));

    if (s < 0)
        fail("socket");
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    set_sockaddr(&ifr.ifr_addr, ip, 0);
    if (ioctl(s, SIOCSIFADDR, &ifr) != 0)
        fail("SIOCSIFADDR");
    set_sockaddr(&ifr.ifr_netmask, mask, 0);
    if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0)
        fail("SIOCSIFNETMASK");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        fail("SIOCGIFFLAGS");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        fail("SIOCSIFFLAGS");
    memset(&rt, 0, sizeof(rt));
    set_sockaddr(&rt.rt_dst, 0, 0);
    set_sockaddr(&rt.rt_genmask, 0, 0);
    set_sockaddr(&rt.rt_gateway, gw, 0);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)ifname;
    if (ioctl(s, SIOCADDRT, &rt) != 0 && errno != EEXIST)
        fail("SIOCADDRT (default route via toucher.gw)");
    close(s);
}

/* A TCP connection to addr:port, retried for 30 s while the link comes up or the peer is not
 * listening yet. */
static int
net_connect(in_addr_t addr, unsigned short port)
{
    struct sockaddr sa;
    double deadline = now_s() + 30;
    int s;

    set_sockaddr(&sa, addr, port);
    for (;;) {
        s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            fail("socket");
        if (connect(s, &sa, sizeof(struct sockaddr_in)) == 0)
            return s;
        close(s);
        if (now_s() > deadline || (errno != ECONNREFUSED && errno != ENETUNREACH &&
                                   errno != EHOSTUNREACH && errno != ETIMEDOUT)) {
            char what[64];

            snprintf(what, sizeof(what), "connect to the peer's port %u", port);
            fail(what);
        }
        usleep(200 * 1000);
    }
}

static void
net_phase(const char *cmdline, long mb)
{
    char ipopt[64], gwopt[64], peeropt[64], buf[64 << 10], *ifs[16], *slash, *colon;
    long long sent = 0, received = 0, want = (long long)mb << 20;
    double t0, t1, t2;
    in_addr_t ip, gw, peer;
    int prefix = 24, n, s;
    long port;
    ssize_t r;

    cmdline_str(cmdline, "toucher.ip=", ipopt, sizeof(ipopt), "10.0.2.15/24");
    cmdline_str(cmdline, "toucher.gw=", gwopt, sizeof(gwopt), "10.0.2.2");
    cmdline_str(cmdline, "toucher.peer=", peeropt, sizeof(peeropt), "10.0.2.2:5001");
    if (!strchr(ipopt, '/'))
        strcat(ipopt, "/24");
    if (!strchr(peeropt, ':'))
        strcat(peeropt, ":5001");
    slash = strchr(ipopt, '/');
    *slash = '\0';
    prefix = atoi(slash + 1);
    colon = strchr(peeropt, ':');
    *colon = '\0';
    port = strtol(colon + 1, NULL, 10);
    if (prefix < 0 || prefix > 32 || port < 1 || port > 65534) {
        errno = EINVAL;
        fail("toucher.ip= prefix (0-32) or toucher.peer= port (1-65534)");
    }
    ip = parse_ip("toucher.ip", ipopt);
    gw = parse_ip("toucher.gw", gwopt);
    peer = parse_ip("toucher.peer", peeropt);

    n = list_dir("/sys/class/net", not_lo, ifs, 16);
    if (n == 0) {
        errno = ENODEV;
        fail("toucher.net_mb: no network interface but lo in /sys/class/net");
    }
    net_configure(ifs[0], ip, prefix, gw);

    memset(buf, 0xa5, sizeof(buf));
    t0 = now_s();
    s = net_connect(peer, (unsigned short)port);
    while (sent < want) {
        size_t chunk = want - sent < (long long)sizeof(buf) ? (size_t)(want - sent) : sizeof(buf);
        r = write(s, buf, chunk);
        if (r <= 0)
            fail("send to the peer");
        sent += r;
    }
    /* The peer closes once it has read everything: then all of it went through. */
    shutdown(s, SHUT_WR);
    while ((r = read(s, buf, sizeof(buf))) > 0)
        ;
    close(s);
    t1 = now_s();
    s = net_connect(peer, (unsigned short)(port + 1));
    while ((r = read(s, buf, sizeof(buf))) > 0)
        received += r;
    if (r < 0)
        fail("receive from the peer");
    close(s);
    t2 = now_s();
    say("toucher: net %s %s/%d gw %s: sent %lld MiB to %s:%ld in %.2f s, received %lld MiB from "
        "%s:%ld in %.2f s\n",
        ifs[0], ipopt, prefix, gwopt, sent >> 20, peeropt, port, t1 - t0, received >> 20, peeropt,
        port + 1, t2 - t1);
    if (received != want) {
        char what[128];

        snprintf(what, sizeof(what), "net: received %lld bytes from the peer, expected %lld",
                 received, want);
        errno = EPROTO;
        fail(what);
    }
    free_names(ifs, n);
}

/* ---- display ---- */

static int
is_fb(const char *name)
{
    return strncmp(name, "fb", 2) == 0 && name[2] >= '0' && name[2] <= '9';
}

static void
fb_one(const char *name, long frames, long frame_ms)
{
    struct fb_var_screeninfo var;
    struct fb_fix_screeninfo fix;
    char path[64];
    size_t size;
    uint32_t *frame;
    double t0, next;
    int fd;

    snprintf(path, sizeof(path), "/dev/%s", name);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fail(path);
    if (ioctl(fd, FBIOGET_VSCREENINFO, &var) != 0 || ioctl(fd, FBIOGET_FSCREENINFO, &fix) != 0)
        fail("FBIOGET_VSCREENINFO/FSCREENINFO");
    size = (size_t)fix.line_length * var.yres;
    if (size == 0 || size > fix.smem_len) {
        errno = EINVAL;
        fail("framebuffer geometry");
    }
    frame = malloc(size);
    if (!frame)
        fail("malloc frame");
    t0 = now_s();
    next = t0;
    for (long f = 0; f < frames; f++) {
        /* Different in every pixel from one frame to the next: no region is ever unchanged,
         * so every frame is a full-screen update for the host to process. */
        for (size_t i = 0; i < size / 4; i++)
            frame[i] = (uint32_t)(i * 2654435761u + (uint64_t)f * 0x01010101u);
        if (pwrite(fd, frame, size, 0) != (ssize_t)size)
            fail("write the framebuffer");
        next += frame_ms / 1000.0;
        while (now_s() < next)
            usleep(1000);
    }
    say("toucher: display %s (%.16s) %ux%u %u bpp: %ld frames in %.2f s\n", name, fix.id, var.xres,
        var.yres, var.bits_per_pixel, frames, now_s() - t0);
    free(frame);
    close(fd);
}

static void
fb_phase(long frames, long frame_ms)
{
    char *fbs[16];
    int n = 0;

    /* fbdev emulation registers /dev/fb* from the driver's probe; give a slow one 5 s. */
    for (int i = 0; i < 50 && n == 0; i++) {
        n = list_dir("/dev", is_fb, fbs, 16);
        if (n == 0)
            usleep(100 * 1000);
    }
    if (n == 0) {
        errno = ENODEV;
        fail("toucher.fb_frames: no /dev/fb* (no display device with a DRM driver here: "
             "std VGA, bochs-display, virtio-gpu/virtio-vga, qxl or cirrus)");
    }
    for (int i = 0; i < n; i++)
        fb_one(fbs[i], frames, frame_ms);
    free_names(fbs, n);
}

/* ---- vCPUs ---- */

static int
is_cpu(const char *name)
{
    return strncmp(name, "cpu", 3) == 0 && name[3] >= '0' && name[3] <= '9';
}

/* Onlines every offline CPU; returns how many are online. */
static int
online_cpus(void)
{
    char *cpus[512], path[128], state[8];
    int n = list_dir("/sys/devices/system/cpu", is_cpu, cpus, 512), online = 0;

    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/online", cpus[i]);
        /* no "online" file: the boot CPU, always online */
        if (read_line(path, state, sizeof(state))[0] == '0') {
            if (write_str(path, "1") == 0)
                say("toucher: %s online\n", cpus[i]);
            else
                say("toucher: %s: cannot online: %s\n", cpus[i], strerror(errno));
        }
        if (read_line(path, state, sizeof(state))[0] != '0')
            online++;
    }
    free_names(cpus, n);
    return online;
}

static void
hold(long hold_s)
{
    double end = now_s() + (double)hold_s;
    int online = online_cpus();

    say("toucher: holding for %ld s (%d cpus online)\n", hold_s, online);
    while (now_s() < end) {
        double left = end - now_s();

        usleep(left > 1 ? 1000 * 1000 : (useconds_t)(left * 1e6));
        online = online_cpus();
    }
    say("toucher: held %ld s, %d cpus online\n", hold_s, online);
}

int
main(void)
{
    char cmdline[4096] = "", disk_opt[16];
    long reserve_mb, hold_s, thp, code_kb, avail_kib, total_kib, touch_mib;
    long disk_mb, disk_stride_mb, net_mb, fb_frames, fb_ms;
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
    /* disk_mb: -1 is all of each disk */
    cmdline_str(cmdline, "toucher.disk_mb=", disk_opt, sizeof(disk_opt), "0");
    disk_mb = strcmp(disk_opt, "all") == 0 ? -1 : strtol(disk_opt, NULL, 10);
    disk_stride_mb = cmdline_long(cmdline, "toucher.disk_stride_mb=", 1);
    if (disk_stride_mb < 1)
        disk_stride_mb = 1;
    net_mb = cmdline_long(cmdline, "toucher.net_mb=", 0);
    fb_frames = cmdline_long(cmdline, "toucher.fb_frames=", 0);
    fb_ms = cmdline_long(cmdline, "toucher.fb_ms=", 30);

    /* The devices before the RAM: the guest then ends full, with every device's host side
     * having been used. */
    mkdir("/sys", 0555);
    if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0 && errno != EBUSY)
        fail("mount /sys");
    /* devtmpfs makes the disks' and framebuffers' nodes (setup_console mounted it already when
     * the kernel found no console to open) */
    mkdir("/dev", 0755);
    if (access("/dev/null", F_OK) != 0 && mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0)
        fail("mount /dev");
    if (disk_mb != 0 || net_mb > 0 || fb_frames > 0) {
        t0 = now_s();
        if (disk_mb != 0)
            load_group("disk");
        if (net_mb > 0)
            load_group("net");
        if (fb_frames > 0)
            load_display_groups();
        say("toucher: loaded %d kernel modules in %.2f s\n", n_modules_loaded, now_s() - t0);
    }
    drop_module_files();
    if (disk_mb != 0)
        disk_phase(disk_mb, disk_stride_mb);
    if (net_mb > 0)
        net_phase(cmdline, net_mb);
    if (fb_frames > 0)
        fb_phase(fb_frames, fb_ms);

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
    if (hold_s > 0)
        hold(hold_s);
    say("toucher: done\n");
    power_off();
    return 0;
}
