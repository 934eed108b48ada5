// SPDX-License-Identifier: Apache-2.0
// libsystemd's daemon and journal APIs (Debian: libsystemd-dev). Only non-variadic functions are
// called from Swift: sd_notify, sd_journal_sendv, sd_listen_fds_with_names, sd_watchdog_enabled.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>
