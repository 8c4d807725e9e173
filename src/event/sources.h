/* What the wait set needs from the ports it watches (internal). */
#ifndef FY_EVENT_SOURCES_H
#define FY_EVENT_SOURCES_H

#include "ferry/ferry.h"

/* 1 when a take would find a sample. *gone receives (and clears) the number
 * of publishers that went away since the last report. */
int fy_sub_pending(ferry_sub *sub, unsigned *gone);
/* FD mode: re-arms the fd when nothing is pending. */
void fy_sub_settle(ferry_sub *sub);
/* Liveness check of the publishers; non-zero if one was dead. */
int fy_sub_check_peers(ferry_sub *sub);

int fy_listener_pending(ferry_listener *listener);
void fy_listener_settle(ferry_listener *listener);
int fy_listener_check_peers(ferry_listener *listener);

#endif
