
/*
 * Copyright (C) ngx_users authors
 *
 * mockeagain: an LD_PRELOAD shim, in the spirit of OpenResty's mockeagain,
 * that makes every non-blocking socket of nginx as slow as a network can
 * be: recv, read, readv, send, write and writev move at most one byte per
 * call, and every other call fails with EAGAIN.  Code that assumes a full
 * read or write, or that waits for an event which never comes, hangs or
 * breaks under it; code that handles short I/O passes unchanged.
 *
 * nginx waits for edge-triggered epoll events, and a fake EAGAIN or a short
 * read leaves the kernel no reason to report a new edge (the rest of the
 * data is already there).  A real network would: more bytes arrive, or
 * the send buffer drains.  So each fd that got a fake EAGAIN or a short
 * transfer is remembered, and the next epoll_wait() reports it again,
 * readable or writable, with the data nginx registered for it (from
 * epoll_ctl()).  Those extra wake-ups are spurious at worst, which correct
 * code must tolerate anyway.
 *
 * Two things no kernel does are left out: an EAGAIN after a read saw the
 * end of the stream, and an incomplete first send() on a fresh socket
 * (libpq's startup packet; see send() below).  MSG_PEEK reads are real.
 *
 * Environment (read at load time, before nginx wipes it):
 *   MOCKEAGAIN          "r", "w" or "rw": which directions to slow down;
 *                       unset or empty: the shim does nothing
 *   MOCKEAGAIN_COMM     the program it acts in (default "nginx"), so that
 *                       an LD_PRELOAD exported to a whole test run leaves
 *                       prove, psql and PostgreSQL alone
 *   MOCKEAGAIN_VERBOSE  "1": log every slowed call on stderr
 */


#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>


#define MOCK_MAX_FD   65536

#define MOCK_READ     1
#define MOCK_WRITE    2


typedef struct {
    int                 epfd;        /* valid when registered */
    unsigned char       registered;
    uint32_t            events;      /* as registered */
    epoll_data_t        data;
    uint32_t            pending;     /* EPOLLIN/EPOLLOUT to report again */
    unsigned char       skip;        /* MOCK_READ/WRITE: next call is real */
    unsigned char       sent;        /* send() was called since open */
    unsigned char       eof;         /* a read returned 0 */
} mock_fd_t;


static int        mock_active;
static int        mock_dirs;
static int        mock_verbose;
static mock_fd_t  mock_fds[MOCK_MAX_FD];
static int        mock_queue[MOCK_MAX_FD];  /* fds with pending != 0 */
static int        mock_nqueue;

static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_close)(int);
static int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);


static void *
mock_sym(const char *name)
{
    void  *p;

    p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        fprintf(stderr, "mockeagain: no symbol %s\n", name);
        abort();
    }

    return p;
}


/* also from the wrappers: another library may call them before our
 * constructor ran */

static void
mock_resolve(void)
{
    if (real_epoll_wait) {
        return;
    }

    real_recv = mock_sym("recv");
    real_read = mock_sym("read");
    real_readv = mock_sym("readv");
    real_send = mock_sym("send");
    real_write = mock_sym("write");
    real_writev = mock_sym("writev");
    real_close = mock_sym("close");
    real_epoll_ctl = mock_sym("epoll_ctl");
    real_epoll_wait = mock_sym("epoll_wait");
}


__attribute__((constructor)) static void
mock_init(void)
{
    const char  *env, *comm;

    mock_resolve();

    env = getenv("MOCKEAGAIN");
    if (env == NULL) {
        return;
    }

    if (strchr(env, 'r') || strchr(env, 'R')) {
        mock_dirs |= MOCK_READ;
    }

    if (strchr(env, 'w') || strchr(env, 'W')) {
        mock_dirs |= MOCK_WRITE;
    }

    comm = getenv("MOCKEAGAIN_COMM");
    if (comm == NULL || comm[0] == '\0') {
        comm = "nginx";
    }

    mock_active = mock_dirs != 0
                  && strcmp(program_invocation_short_name, comm) == 0;

    env = getenv("MOCKEAGAIN_VERBOSE");
    mock_verbose = env && env[0] == '1';
}


/* only non-blocking sockets: files, pipes and eventfds are left alone */

static int
mock_applies(int fd, int dir)
{
    int          fl;
    struct stat  st;

    if (!mock_active || !(mock_dirs & dir) || fd < 0 || fd >= MOCK_MAX_FD) {
        return 0;
    }

    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return 0;
    }

    fl = fcntl(fd, F_GETFL);

    return fl != -1 && (fl & O_NONBLOCK);
}


static void
mock_pend(int fd, uint32_t events)
{
    if (mock_fds[fd].pending == 0) {
        if (mock_nqueue == MOCK_MAX_FD) {
            return;
        }

        mock_queue[mock_nqueue++] = fd;
    }

    mock_fds[fd].pending |= events;
}


/*
 * Every other call fails with EAGAIN (and the fd is reported again, as
 * the peer's next bytes or a drained buffer would); the others are real.
 * Returns 1 when this call is to fail.
 */

static int
mock_again(int fd, int dir, const char *fn)
{
    mock_fd_t  *m;

    m = &mock_fds[fd];

    /*
     * The end of the stream is for good: an EAGAIN after it would be a
     * lie no kernel tells (libpq reads twice to tell EOF from no data,
     * and alternating answers would keep it guessing forever).
     */
    if (dir == MOCK_READ && m->eof) {
        return 0;
    }

    if (m->skip & dir) {
        m->skip &= ~dir;
        return 0;
    }

    m->skip |= dir;
    mock_pend(fd, dir == MOCK_READ ? EPOLLIN : EPOLLOUT);

    if (mock_verbose) {
        fprintf(stderr, "mockeagain: %s(%d): EAGAIN\n", fn, fd);
    }

    errno = EAGAIN;

    return 1;
}


/* after a real call moved n of the size asked: more may be waiting */

static void
mock_done(int fd, int dir, ssize_t n, const char *fn)
{
    if (n > 0) {
        mock_pend(fd, dir == MOCK_READ ? EPOLLIN : EPOLLOUT);

    } else if (n == 0 && dir == MOCK_READ) {
        mock_fds[fd].eof = 1;
    }

    if (mock_verbose) {
        fprintf(stderr, "mockeagain: %s(%d): %zd\n", fn, fd, n);
    }
}


ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t  n;

    mock_resolve();

    /* a peek changes nothing: nginx uses it to test a connection */
    if (len == 0 || (flags & MSG_PEEK) || !mock_applies(fd, MOCK_READ)) {
        return real_recv(fd, buf, len, flags);
    }

    if (mock_again(fd, MOCK_READ, "recv")) {
        return -1;
    }

    n = real_recv(fd, buf, 1, flags);
    mock_done(fd, MOCK_READ, n, "recv");

    return n;
}


ssize_t
read(int fd, void *buf, size_t len)
{
    ssize_t  n;

    mock_resolve();

    if (len == 0 || !mock_applies(fd, MOCK_READ)) {
        return real_read(fd, buf, len);
    }

    if (mock_again(fd, MOCK_READ, "read")) {
        return -1;
    }

    n = real_read(fd, buf, 1);
    mock_done(fd, MOCK_READ, n, "read");

    return n;
}


/* the first buffer with room, or iovcnt when none has */

static int
mock_first_iov(const struct iovec *iov, int iovcnt)
{
    int  i;

    for (i = 0; i < iovcnt && iov[i].iov_len == 0; i++) {
        /* void */
    }

    return i;
}


/* one byte into the first buffer that has room */

ssize_t
readv(int fd, const struct iovec *iov, int iovcnt)
{
    int      i;
    ssize_t  n;

    mock_resolve();

    if (!mock_applies(fd, MOCK_READ)) {
        return real_readv(fd, iov, iovcnt);
    }

    i = mock_first_iov(iov, iovcnt);

    if (i == iovcnt) {
        return real_readv(fd, iov, iovcnt);
    }

    if (mock_again(fd, MOCK_READ, "readv")) {
        return -1;
    }

    n = real_read(fd, iov[i].iov_base, 1);
    mock_done(fd, MOCK_READ, n, "readv");

    return n;
}


ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
    ssize_t  n;

    mock_resolve();

    if (len == 0 || !mock_applies(fd, MOCK_WRITE)) {
        return real_send(fd, buf, len, flags);
    }

    /*
     * libpq sends its startup packet with pqPacketSend(), which takes an
     * incomplete send for a failure ("could not send startup packet");
     * on a fresh connection the kernel always takes those hundred bytes
     * at once, so the first send() of a socket goes through whole (nginx
     * writes to clients with writev(), which is slowed from the first).
     */
    if (!mock_fds[fd].sent) {
        mock_fds[fd].sent = 1;
        return real_send(fd, buf, len, flags);
    }

    if (mock_again(fd, MOCK_WRITE, "send")) {
        return -1;
    }

    n = real_send(fd, buf, 1, flags);
    mock_done(fd, MOCK_WRITE, n, "send");

    return n;
}


ssize_t
write(int fd, const void *buf, size_t len)
{
    ssize_t  n;

    mock_resolve();

    if (len == 0 || !mock_applies(fd, MOCK_WRITE)) {
        return real_write(fd, buf, len);
    }

    if (mock_again(fd, MOCK_WRITE, "write")) {
        return -1;
    }

    n = real_write(fd, buf, 1);
    mock_done(fd, MOCK_WRITE, n, "write");

    return n;
}


ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
    int      i;
    ssize_t  n;

    mock_resolve();

    if (!mock_applies(fd, MOCK_WRITE)) {
        return real_writev(fd, iov, iovcnt);
    }

    i = mock_first_iov(iov, iovcnt);

    if (i == iovcnt) {
        return real_writev(fd, iov, iovcnt);
    }

    if (mock_again(fd, MOCK_WRITE, "writev")) {
        return -1;
    }

    n = real_write(fd, iov[i].iov_base, 1);
    mock_done(fd, MOCK_WRITE, n, "writev");

    return n;
}


/* a closed fd leaves its epoll sets: forget it, its number will be reused */

int
close(int fd)
{

    mock_resolve();
    if (fd >= 0 && fd < MOCK_MAX_FD) {
        mock_fds[fd].registered = 0;
        mock_fds[fd].pending = 0;
        mock_fds[fd].skip = 0;
        mock_fds[fd].sent = 0;
        mock_fds[fd].eof = 0;
    }

    return real_close(fd);
}


int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    int  rc;

    mock_resolve();

    rc = real_epoll_ctl(epfd, op, fd, event);

    if (rc != 0 || fd < 0 || fd >= MOCK_MAX_FD) {
        return rc;
    }

    if (op == EPOLL_CTL_DEL) {
        mock_fds[fd].registered = 0;
        mock_fds[fd].pending = 0;

    } else {
        mock_fds[fd].registered = 1;
        mock_fds[fd].epfd = epfd;
        mock_fds[fd].events = event->events;
        mock_fds[fd].data = event->data;
    }

    return rc;
}


/* what of fd's pending events its registration on epfd still asks for */

static uint32_t
mock_wanted(int fd, int epfd)
{
    mock_fd_t  *m;

    m = &mock_fds[fd];

    if (!m->registered || m->epfd != epfd) {
        return 0;
    }

    return m->pending & m->events & (EPOLLIN | EPOLLOUT);
}


int
epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    int        i, k, n, fd, left;
    uint32_t   want;
    mock_fd_t *m;

    mock_resolve();

    if (!mock_active || mock_nqueue == 0) {
        return real_epoll_wait(epfd, events, maxevents, timeout);
    }

    /* a wait for an event that is due anyway must not sleep */
    for (i = 0; i < mock_nqueue; i++) {
        if (mock_wanted(mock_queue[i], epfd)) {
            timeout = 0;
            break;
        }
    }

    n = real_epoll_wait(epfd, events, maxevents, timeout);
    if (n < 0) {
        return n;
    }

    left = 0;

    for (i = 0; i < mock_nqueue; i++) {
        fd = mock_queue[i];
        m = &mock_fds[fd];

        if (m->registered && m->epfd != epfd) {
            /* another epoll set's: keep it for that set's wait */
            mock_queue[left++] = fd;
            continue;
        }

        want = mock_wanted(fd, epfd);

        if (want == 0) {
            m->pending = 0;
            continue;
        }

        for (k = 0; k < n; k++) {
            if (events[k].data.u64 == m->data.u64) {
                break;
            }
        }

        if (k == n) {
            if (n == maxevents) {
                mock_queue[left++] = fd;
                continue;
            }

            events[n].events = 0;
            events[n].data = m->data;
            n++;
        }

        events[k].events |= want;
        m->pending = 0;
    }

    mock_nqueue = left;

    return n;
}
