#include "core/log.h"
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Registry of open log files, shared across generations; guarded by a mutex
 * because generations are built and freed by the main thread while workers
 * only read descriptors. */
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static rp_log_file_t *files;

static rp_log_file_t *error_file;
static int error_level = 3; /* RP_LOG_ERR */

static const char *level_names[] = { "emerg", "alert",  "crit", "error",
                                     "warn",  "notice", "info", "debug" };

static int is_stderr(const char *path)
{
    return strcmp(path, "stderr") == 0 || strcmp(path, "/dev/stderr") == 0;
}

static int open_path(const char *path)
{
    if (is_stderr(path))
        return dup(2);
    if (strcmp(path, "/dev/stdout") == 0 || strcmp(path, "stdout") == 0)
        return dup(1);
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

rp_log_file_t *rp_log_file_open(const char *path, char *err, size_t errlen)
{
    pthread_mutex_lock(&files_lock);
    for (rp_log_file_t *f = files; f; f = f->next) {
        if (strcmp(f->path, path) == 0) {
            __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&files_lock);
            return f;
        }
    }
    int fd = open_path(path);
    if (fd < 0) {
        int e = errno;
        pthread_mutex_unlock(&files_lock);
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", path, e, strerror(e));
        return NULL;
    }
    rp_log_file_t *f = calloc(1, sizeof(*f));
    char *p = f ? strdup(path) : NULL;
    if (!p) {
        free(f);
        close(fd);
        pthread_mutex_unlock(&files_lock);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->path = p;
    f->fd = fd;
    f->refs = 1;
    f->next = files;
    files = f;
    pthread_mutex_unlock(&files_lock);
    return f;
}

void rp_log_file_ref(rp_log_file_t *f)
{
    pthread_mutex_lock(&files_lock);
    f->refs++;
    pthread_mutex_unlock(&files_lock);
}

void rp_log_file_release(rp_log_file_t *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&files_lock);
    if (--f->refs == 0) {
        for (rp_log_file_t **pp = &files; *pp; pp = &(*pp)->next) {
            if (*pp == f) {
                *pp = f->next;
                break;
            }
        }
        if (error_file == f)
            error_file = NULL;
        close(f->fd);
        free(f->path);
        free(f);
    }
    pthread_mutex_unlock(&files_lock);
}

int rp_log_file_fd(rp_log_file_t *f)
{
    return __atomic_load_n(&f->fd, __ATOMIC_ACQUIRE);
}

void rp_log_reopen_all(void)
{
    pthread_mutex_lock(&files_lock);
    for (rp_log_file_t *f = files; f; f = f->next) {
        int fd = open_path(f->path);
        if (fd < 0)
            continue;
        /* dup2 replaces the descriptor in one step: a worker writing at
         * that moment writes either to the old file or the new one. */
        dup2(fd, f->fd);
        close(fd);
    }
    pthread_mutex_unlock(&files_lock);
}

void rp_log_file_write(rp_log_file_t *f, const char *buf, size_t len)
{
    int fd = rp_log_file_fd(f);
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

void rp_log_set_error_log(rp_log_file_t *f, int level)
{
    error_file = f;
    error_level = level;
}

int rp_log_level_from_name(const char *name)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}

int rp_log_enabled(int level)
{
    return level <= error_level;
}

void rp_log_error(int level, const char *fmt, ...)
{
    if (level > error_level)
        return;
    char buf[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(buf, sizeof(buf), "%Y/%m/%d %H:%M:%S", &tm);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, " [%s] %d: ",
                  level_names[level < 0   ? 0
                              : level > 7 ? 7
                                          : level],
                  (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    if (error_file)
        rp_log_file_write(error_file, buf, (size_t)n);
    else {
        ssize_t r = write(2, buf, (size_t)n);
        (void)r;
    }
}
