/* Error log and shared log files.
 *
 * Log files are shared by path across configuration generations: a file
 * opened by two generations is one rp_log_file_t with a reference count.
 * Reopen (SIGUSR1, -s reopen) swaps the descriptor atomically so workers
 * never see a closed one.
 */
#ifndef RP_CORE_LOG_H
#define RP_CORE_LOG_H

#include <stdarg.h>
#include <stddef.h>

struct rp_log_file_s {
    char *path;
    int fd;   /* atomic: read with rp_log_file_fd */
    int refs; /* atomic */
    struct rp_log_file_s *next;
};
typedef struct rp_log_file_s rp_log_file_t;

/* Opens (O_APPEND|O_CREAT, 0644) or shares a log file. "stderr" and
 * "/dev/stderr" map to fd 2. Returns NULL and fills err on failure, e.g.
 * open() "/x/access.log" failed (13: Permission denied). */
rp_log_file_t *rp_log_file_open(const char *path, char *err, size_t errlen);
void rp_log_file_ref(rp_log_file_t *f);
void rp_log_file_release(rp_log_file_t *f);
int rp_log_file_fd(rp_log_file_t *f);
/* Reopens every open log file (main thread). */
void rp_log_reopen_all(void);
/* Writes all of buf (O_APPEND keeps lines whole). */
void rp_log_file_write(rp_log_file_t *f, const char *buf, size_t len);

/* The error log. Until rp_log_set_error_log is called, messages go to
 * stderr. Level names: emerg alert crit error warn notice info debug. */
void rp_log_set_error_log(rp_log_file_t *f, int level);
int rp_log_level_from_name(const char *name); /* -1 when unknown */
void rp_log_error(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rp_log_enabled(int level);

#endif
