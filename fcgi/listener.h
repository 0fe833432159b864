/*
 * The FastCGI socket the workers accept on. Its connections inherit I/O
 * timeouts, because libfcgi reads with plain blocking reads; at stop it is
 * drained, because closing it resets every connection the kernel has
 * already queued and lighttpd would answer those sends with 500.
 */
#ifndef SEND_LISTENER_H
#define SEND_LISTENER_H

#include "chat_msg.h"
#include "config.h"

/*
 * Listen on cfg's SEND_SOCKET, or SEND_BIND:SEND_PORT, with SEND_BACKLOG;
 * accepted connections time out after SEND_IO_TIMEOUT_MS of silence (and
 * so does an idle accept(), with EAGAIN). The descriptor, or -1 after
 * logging why.
 */
CHAT_WUR int listener_open(const struct send_config *cfg);

/*
 * Return once no connection has been waiting on fd for a few checks, or
 * after LISTENER_DRAIN_MAX_MS; the workers go on accepting meanwhile.
 */
#define LISTENER_DRAIN_MAX_MS 5000
void listener_drain(int fd);

#endif
