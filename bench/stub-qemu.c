/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A "qemu" that exits at once: what is left of a launch is the launcher's own cost. */
int
main(void)
{
    return 0;
}
