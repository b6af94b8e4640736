/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

int
caps_get(uint64_t *ret_effective, uint64_t *ret_permitted)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {{0}};

    if (syscall(SYS_capget, &h, d) < 0)
        return -errno;
    *ret_effective = d[0].effective | (uint64_t)d[1].effective << 32;
    *ret_permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
    return 0;
}

int
caps_set(uint64_t effective, uint64_t permitted)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {
        {.effective = (uint32_t)effective, .permitted = (uint32_t)permitted},
        {.effective = (uint32_t)(effective >> 32), .permitted = (uint32_t)(permitted >> 32)},
    };

    return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}
