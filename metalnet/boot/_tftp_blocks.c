/*
 * The data phase of a TFTP read transfer, compiled: blocks out, ACKs in.
 *
 * A BlockSender owns the window of one transfer (RFC 1350 lock-step, RFC 7440
 * windows, block numbers rolling over at 65536). Its run() sends the blocks due,
 * then waits on the transfer's socket and answers every ACK itself, with the GIL
 * released, until something needs the Python side: the last block acknowledged,
 * no progress for the timeout, a datagram that is not an ACK, a short or failed
 * read, or a byte on the stop descriptor. Retries, backoff, the OACK and ERROR
 * packets stay in metalnet.boot.tftp_transfer, which calls run() from a thread.
 *
 * Why C: in lock-step every block waits for its ACK, so the time the server
 * spends per block is the transfer's rate. In the interpreter that time was
 * several microseconds above tftpd-hpa's (docs/bench-tftp.md).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OP_DATA 3
#define OP_ACK 4
#define HEADER 4
#define BLKSIZE_MIN 8
#define BLKSIZE_MAX 65464
#define WINDOWSIZE_MAX 65535
/* ACKs are 4 bytes; a longer ERROR message is cut, which its decoder accepts. */
#define RECV_SIZE 516

/* What run() returns to Python; exported under these names. */
enum event { TIMEOUT, COMPLETED, DATAGRAM, STOPPED, FILE_SHORT, READ_FAILED, SOCKET_FAILED };

/* What a step inside run() came to: go on, cannot send for now, or DONE (event set). */
enum step { GO_ON, BLOCKED, DONE };

typedef struct {
    PyObject_HEAD
    int sock;
    int file;
    int64_t size;
    int blksize;
    int windowsize;
    int awaiting_oack;
    int running;
    int64_t first;        /* first block not yet acknowledged */
    int64_t next;         /* next block to send */
    int64_t last;         /* the final block, shorter than blksize, maybe empty */
    int64_t highest_sent;
    unsigned char *packet; /* header and one block */
    unsigned long long data_sent, bytes_sent, retransmits;
    unsigned long long duplicate_acks, stale_acks, unexpected_acks;
} BlockSender;

/* The outcome of a run, filled without the GIL. */
typedef struct {
    enum event event;
    int progressed;
    int error; /* errno for READ_FAILED and SOCKET_FAILED */
    ssize_t datagram_size;
    unsigned char datagram[RECV_SIZE];
} Outcome;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds for poll() until deadline, rounded up so a wait never ends early. */
static int ms_until(int64_t deadline)
{
    int64_t left = deadline - now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* What waiting on the socket came to; ENDED when stopped or poll failed (the event is set). */
enum wait { READY, TIMED_OUT, ENDED };

/* Wait for `events` on the socket until the deadline, or until stop_fd is readable. */
static enum wait wait_socket(BlockSender *s, short events, int64_t deadline, int stop_fd,
                             Outcome *out)
{
    for (;;) {
        struct pollfd fds[2] = {{s->sock, events, 0}, {stop_fd, POLLIN, 0}};
        int ready = poll(fds, 2, ms_until(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            out->event = SOCKET_FAILED;
            out->error = errno;
            return ENDED;
        }
        if (fds[1].revents) {
            out->event = STOPPED;
            return ENDED;
        }
        return fds[0].revents ? READY : TIMED_OUT;
    }
}

static enum step send_block(BlockSender *s, int64_t block, int64_t deadline, int stop_fd,
                            Outcome *out)
{
    int64_t offset = (block - 1) * (int64_t)s->blksize;
    size_t want = (size_t)(s->size - offset < s->blksize ? s->size - offset : s->blksize);
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(s->file, s->packet + HEADER + got, want - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            out->event = READ_FAILED;
            out->error = errno;
            return DONE;
        }
        if (n == 0) {
            out->event = FILE_SHORT;
            return DONE;
        }
        got += (size_t)n;
    }
    s->packet[0] = 0;
    s->packet[1] = OP_DATA;
    s->packet[2] = (unsigned char)((block >> 8) & 0xFF);
    s->packet[3] = (unsigned char)(block & 0xFF);
    for (;;) {
        /* ENOBUFS: the kernel dropped it, as a link would; a timeout resends it. */
        if (send(s->sock, s->packet, HEADER + want, MSG_DONTWAIT) >= 0 || errno == ENOBUFS)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            out->event = SOCKET_FAILED;
            out->error = errno;
            return DONE;
        }
        enum wait waited = wait_socket(s, POLLOUT, deadline, stop_fd, out);
        if (waited != READY)
            return waited == ENDED ? DONE : BLOCKED;
    }
    if (block <= s->highest_sent)
        s->retransmits++;
    else
        s->highest_sent = block;
    s->data_sent++;
    s->bytes_sent += want;
    return GO_ON;
}

/* Send the blocks of the window not sent yet. BLOCKED leaves the rest to a resend. */
static enum step send_due(BlockSender *s, int64_t deadline, int stop_fd, Outcome *out)
{
    int64_t end = s->first + s->windowsize;
    if (end > s->last + 1)
        end = s->last + 1;
    while (s->next < end) {
        enum step sent = send_block(s, s->next, deadline, stop_fd, out);
        if (sent != GO_ON)
            return sent;
        s->next++;
    }
    return GO_ON;
}

/*
 * Apply an ACK of 16-bit block number `block`: 1 if it moved the window, 0 if it
 * was ignored (and counted). A duplicate ACK never sends: only a timeout resends,
 * so a delayed ACK cannot double every following packet (Sorcerer's Apprentice).
 */
static int apply_ack(BlockSender *s, unsigned block)
{
    if (s->awaiting_oack) {
        if (block != 0) {
            s->unexpected_acks++;
            return 0;
        }
        s->awaiting_oack = 0;
        return 1;
    }
    /* Map the number onto the blocks in flight: first - 1 (nothing new) .. next - 1. */
    int64_t acked = s->first - 1 + (int64_t)((uint64_t)((int64_t)block - s->first + 1) & 0xFFFF);
    if (acked == s->first - 1) {
        s->duplicate_acks++;
        return 0;
    }
    if (acked >= s->next) {
        s->stale_acks++; /* older than the window, or for a block never sent */
        return 0;
    }
    s->first = acked + 1;
    if (acked < s->next - 1)
        s->next = s->first; /* the client missed a block: restart after it (RFC 7440 §4) */
    return 1;
}

static void pump(BlockSender *s, double timeout, int stop_fd, Outcome *out)
{
    int64_t wait_ns = (int64_t)(timeout * 1e9);
    int64_t deadline = now_ns() + wait_ns;
    if (!s->awaiting_oack && send_due(s, deadline, stop_fd, out) == DONE)
        return;
    for (;;) {
        enum wait waited = wait_socket(s, POLLIN, deadline, stop_fd, out);
        if (waited == TIMED_OUT)
            out->event = TIMEOUT;
        if (waited != READY)
            return;
        ssize_t n = recv(s->sock, out->datagram, RECV_SIZE, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            out->event = SOCKET_FAILED; /* ECONNREFUSED: the client's port is closed */
            out->error = errno;
            return;
        }
        if (n != 4 || out->datagram[0] != 0 || out->datagram[1] != OP_ACK) {
            out->event = DATAGRAM;
            out->datagram_size = n;
            return;
        }
        if (!apply_ack(s, ((unsigned)out->datagram[2] << 8) | out->datagram[3]))
            continue;
        out->progressed = 1;
        if (s->first > s->last) {
            out->event = COMPLETED;
            return;
        }
        deadline = now_ns() + wait_ns;
        if (send_due(s, deadline, stop_fd, out) == DONE)
            return;
    }
}

static int check_idle(BlockSender *s)
{
    if (s->running) {
        PyErr_SetString(PyExc_RuntimeError, "the block sender is running in another thread");
        return -1;
    }
    return 0;
}

static PyObject *BlockSender_run(BlockSender *s, PyObject *args)
{
    double timeout;
    int stop_fd = -1;
    if (!PyArg_ParseTuple(args, "d|i:run", &timeout, &stop_fd) || check_idle(s) < 0)
        return NULL;
    if (!(timeout >= 0.0 && timeout <= 86400.0)) {
        PyErr_SetString(PyExc_ValueError, "timeout must be between 0 and 86400 seconds");
        return NULL;
    }
    Outcome *out = PyMem_RawCalloc(1, sizeof *out);
    if (out == NULL)
        return PyErr_NoMemory();
    s->running = 1;
    Py_BEGIN_ALLOW_THREADS
    pump(s, timeout, stop_fd, out);
    Py_END_ALLOW_THREADS
    s->running = 0;
    PyObject *detail;
    if (out->event == DATAGRAM)
        detail = PyBytes_FromStringAndSize((const char *)out->datagram, out->datagram_size);
    else if (out->event == READ_FAILED || out->event == SOCKET_FAILED)
        detail = PyLong_FromLong(out->error);
    else
        detail = Py_NewRef(Py_None);
    int event = out->event, progressed = out->progressed;
    PyMem_RawFree(out);
    if (detail == NULL)
        return NULL;
    return Py_BuildValue("(iON)", event, progressed ? Py_True : Py_False, detail);
}

static PyObject *BlockSender_rewind(BlockSender *s, PyObject *Py_UNUSED(ignored))
{
    if (check_idle(s) < 0)
        return NULL;
    s->next = s->first;
    Py_RETURN_NONE;
}

static PyObject *BlockSender_take_counts(BlockSender *s, PyObject *Py_UNUSED(ignored))
{
    if (check_idle(s) < 0)
        return NULL;
    PyObject *counts = Py_BuildValue(
        "(KKKKKK)", s->data_sent, s->bytes_sent, s->retransmits, s->duplicate_acks,
        s->stale_acks, s->unexpected_acks);
    if (counts != NULL)
        s->data_sent = s->bytes_sent = s->retransmits = s->duplicate_acks = s->stale_acks =
            s->unexpected_acks = 0;
    return counts;
}

static PyObject *BlockSender_get_awaiting_oack(BlockSender *s, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(s->awaiting_oack);
}

static int BlockSender_init(BlockSender *s, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"sock", "file", "size", "blksize", "windowsize", "awaiting_oack", NULL};
    int sock, file, blksize, windowsize, awaiting_oack;
    long long size;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iiLiip:BlockSender", names, &sock, &file,
                                     &size, &blksize, &windowsize, &awaiting_oack))
        return -1;
    if (check_idle(s) < 0)
        return -1;
    if (sock < 0 || file < 0 || size < 0) {
        PyErr_SetString(PyExc_ValueError, "descriptors and size must not be negative");
        return -1;
    }
    if (blksize < BLKSIZE_MIN || blksize > BLKSIZE_MAX || windowsize < 1 ||
        windowsize > WINDOWSIZE_MAX) {
        PyErr_SetString(PyExc_ValueError, "blksize or windowsize out of range");
        return -1;
    }
    unsigned char *packet = PyMem_RawRealloc(s->packet, HEADER + (size_t)blksize);
    if (packet == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    s->packet = packet;
    s->sock = sock;
    s->file = file;
    s->size = size;
    s->blksize = blksize;
    s->windowsize = windowsize;
    s->awaiting_oack = awaiting_oack;
    s->first = s->next = 1;
    s->last = size / blksize + 1;
    s->highest_sent = 0;
    s->data_sent = s->bytes_sent = s->retransmits = 0;
    s->duplicate_acks = s->stale_acks = s->unexpected_acks = 0;
    return 0;
}

static void BlockSender_dealloc(BlockSender *s)
{
    PyMem_RawFree(s->packet);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMethodDef BlockSender_methods[] = {
    {"run", (PyCFunction)BlockSender_run, METH_VARARGS,
     "run(timeout, stop_fd=-1) -> (event, progressed, detail)\n\n"
     "Send the blocks due and answer ACKs until an event; releases the GIL.\n"
     "detail is the datagram for DATAGRAM, the errno for READ_FAILED and\n"
     "SOCKET_FAILED, else None."},
    {"rewind", (PyCFunction)BlockSender_rewind, METH_NOARGS,
     "Resend from the first unacknowledged block on the next run."},
    {"take_counts", (PyCFunction)BlockSender_take_counts, METH_NOARGS,
     "(data_sent, bytes_sent, retransmits, duplicate_acks, stale_acks, unexpected_acks)\n"
     "since the last call."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef BlockSender_getset[] = {
    {"awaiting_oack", (getter)BlockSender_get_awaiting_oack, NULL,
     "Whether the OACK has not been acknowledged yet.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject BlockSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "metalnet.boot._tftp_blocks.BlockSender",
    .tp_doc = "BlockSender(sock, file, size, blksize, windowsize, awaiting_oack)\n\n"
              "The data phase of one transfer of `size` bytes read from descriptor `file`\n"
              "to the client `sock` is connected to. Neither descriptor is closed here.",
    .tp_basicsize = sizeof(BlockSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)BlockSender_init,
    .tp_dealloc = (destructor)BlockSender_dealloc,
    .tp_methods = BlockSender_methods,
    .tp_getset = BlockSender_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "metalnet.boot._tftp_blocks",
    .m_doc = "The data phase of a TFTP read transfer, outside the interpreter.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__tftp_blocks(void)
{
    if (PyType_Ready(&BlockSenderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    static const struct {
        const char *name;
        int value;
    } events[] = {
        {"TIMEOUT", TIMEOUT},         {"COMPLETED", COMPLETED}, {"DATAGRAM", DATAGRAM},
        {"STOPPED", STOPPED},         {"FILE_SHORT", FILE_SHORT}, {"READ_FAILED", READ_FAILED},
        {"SOCKET_FAILED", SOCKET_FAILED},
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        if (PyModule_AddIntConstant(m, events[i].name, events[i].value) < 0)
            goto fail;
    }
    if (PyModule_AddObjectRef(m, "BlockSender", (PyObject *)&BlockSenderType) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
