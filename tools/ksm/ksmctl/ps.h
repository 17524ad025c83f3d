/* SPDX-License-Identifier: GPL-2.0 */
/* ksmctl: the per-process view and status (ps.c). */
#ifndef KSMCTL_PS_H
#define KSMCTL_PS_H

#include "common.h"

int cmd_ps(void);
int cmd_status(void);

/*
 * The processes to show: those with KSM enabled (or every one named by
 * --pid), most merged first. Returns 0, or an exit code after one line on
 * stderr.
 */
int read_procs(struct ksm_proc_info **out, size_t *n);
/* The name to show for @pi: the VM's, else the command line, else [comm]. */
const char *proc_command(const struct ksm_proc_info *pi);
/* "process", "madvise", or NULL when neither is reported. */
const char *proc_mode(const struct ksm_proc_stat *st);

#endif /* KSMCTL_PS_H */
