/* rampart: command line, signals, start-up and reload. */
#include "conf/conf.h"
#include "core/common.h"
#include "core/log.h"
#include "proxy/route.h"
#include "proxy/worker.h"
#include "tls/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define RP_VERSION_TEXT "rampart/0.1.0"
#ifndef RP_DEFAULT_PREFIX
#define RP_DEFAULT_PREFIX "/usr/local/rampart/"
#endif
#define RP_DEFAULT_CONF "conf/rampart.conf"

static const char *usage_text =
    "Usage: rampart [-?hvVtTq] [-s signal] [-p prefix] [-c filename] [-g directives]\n\n"
    "Options:\n"
    "  -?,-h         : this help\n"
    "  -v            : show version and exit\n"
    "  -V            : show version and configure options then exit\n"
    "  -t            : test configuration and exit\n"
    "  -T            : test configuration, dump it and exit\n"
    "  -q            : suppress non-error messages during configuration testing\n"
    "  -s signal     : send signal to the running process: stop, quit, reopen, reload\n"
    "  -p prefix     : set prefix path (default: " RP_DEFAULT_PREFIX ")\n"
    "  -c filename   : set configuration file (default: " RP_DEFAULT_CONF ")\n"
    "  -g directives : set global directives out of configuration file\n";

static char *make_prefix(const char *p)
{
    size_t n = strlen(p);
    char *s = rp_xmalloc(n + 2);
    memcpy(s, p, n);
    if (n == 0 || p[n - 1] != '/')
        s[n++] = '/';
    s[n] = '\0';
    return s;
}

static char *conf_path(const char *prefix, const char *c)
{
    if (c[0] == '/')
        return rp_xstrdup(c);
    size_t n = strlen(prefix) + strlen(c) + 1;
    char *s = rp_xmalloc(n);
    snprintf(s, n, "%s%s", prefix, c);
    return s;
}

static int write_pid(const char *path)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return RP_ERROR;
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    return w == n ? RP_OK : RP_ERROR;
}

static int send_signal(rp_conf_t *conf, const char *name)
{
    int sig;
    if (strcmp(name, "stop") == 0)
        sig = SIGTERM;
    else if (strcmp(name, "quit") == 0)
        sig = SIGQUIT;
    else if (strcmp(name, "reopen") == 0)
        sig = SIGUSR1;
    else if (strcmp(name, "reload") == 0)
        sig = SIGHUP;
    else {
        fprintf(stderr, "rampart: invalid option: \"-s %s\"\n", name);
        return 1;
    }
    if (!conf->pid_path) {
        fprintf(stderr, "rampart: [error] no pid file configured (pid off)\n");
        return 1;
    }
    FILE *f = fopen(conf->pid_path, "r");
    if (!f) {
        fprintf(stderr, "rampart: [error] open() \"%s\" failed (%d: %s)\n", conf->pid_path, errno,
                strerror(errno));
        return 1;
    }
    long pid = 0;
    int ok = fscanf(f, "%ld", &pid) == 1 && pid > 0;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "rampart: [error] invalid PID number in \"%s\"\n", conf->pid_path);
        return 1;
    }
    if (kill((pid_t)pid, sig) != 0) {
        fprintf(stderr, "rampart: [alert] kill(%ld, %d) failed (%d: %s)\n", pid, sig, errno,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int drop_privileges(const rp_conf_t *conf)
{
    if (!conf->user || geteuid() != 0)
        return RP_OK;
    struct passwd *pw = getpwnam(conf->user);
    if (!pw) {
        rp_log_error(RP_LOG_EMERG, "getpwnam(\"%s\") failed", conf->user);
        return RP_ERROR;
    }
    gid_t gid = pw->pw_gid;
    if (conf->group) {
        struct group *gr = getgrnam(conf->group);
        if (!gr && strcmp(conf->group, conf->user) == 0) {
            /* `user name;` without a group: the user's own primary group
             * (Debian has no "nobody" group, only "nogroup") */
            gr = getgrgid(pw->pw_gid);
        }
        if (!gr) {
            rp_log_error(RP_LOG_EMERG, "getgrnam(\"%s\") failed", conf->group);
            return RP_ERROR;
        }
        gid = gr->gr_gid;
    }
    if (setgid(gid) != 0 || initgroups(conf->user, gid) != 0 || setuid(pw->pw_uid) != 0) {
        rp_log_error(RP_LOG_EMERG, "dropping privileges to \"%s\" failed (%d: %s)", conf->user,
                     errno, strerror(errno));
        return RP_ERROR;
    }
    return RP_OK;
}

static void apply_error_log(rp_conf_t *conf)
{
    char err[256];
    rp_log_file_t *f = rp_log_file_open(conf->error_log_path, err, sizeof(err));
    if (f) {
        /* the generation keeps its own reference through log_files; this
         * one is the error log's */
        rp_log_set_error_log(f, conf->error_log_level);
    } else {
        rp_log_error(RP_LOG_ALERT, "%s", err);
    }
}

static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        rp_log_error(RP_LOG_EMERG, "fork() failed (%d: %s)", errno, strerror(errno));
        exit(1);
    }
    if (pid > 0)
        _exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        /* the error log keeps its own descriptor (a dup when it is
         * stderr), so the standard ones can all go */
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
}

/* SNI picks the server block for the certificate the way Host picks it
 * for the request. */
static rp_server_t *sni_server(const rp_listen_t *ls, const char *host, size_t len)
{
    return rp_route_server(ls, rp_str(host, len));
}

int main(int argc, char **argv)
{
    const char *prefix_arg = NULL, *conf_arg = NULL, *sig_arg = NULL, *globals = NULL;
    int test = 0, dump = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            fprintf(stderr, "rampart: invalid option: \"%s\"\n", a);
            return 1;
        }
        for (const char *p = a + 1; *p; p++) {
            switch (*p) {
            case 'h':
            case '?':
                fprintf(stderr, "rampart version: %s\n%s", RP_VERSION_TEXT, usage_text);
                return 0;
            case 'v':
                fprintf(stderr, "rampart version: %s\n", RP_VERSION_TEXT);
                return 0;
            case 'V':
                fprintf(stderr, "rampart version: %s\nbuilt with PCRE2, epoll, SO_REUSEPORT\n",
                        RP_VERSION_TEXT);
                return 0;
            case 't':
                test = 1;
                break;
            case 'T':
                test = 1;
                dump = 1;
                break;
            case 'q':
                quiet = 1;
                break;
            case 'p':
            case 'c':
            case 's':
            case 'g': {
                const char *val = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!val) {
                    fprintf(stderr, "rampart: option \"-%c\" requires %s\n", *p,
                            *p == 'p'   ? "directory name"
                            : *p == 'c' ? "file name"
                            : *p == 's' ? "parameter"
                                        : "parameter");
                    return 1;
                }
                if (*p == 'p')
                    prefix_arg = val;
                else if (*p == 'c')
                    conf_arg = val;
                else if (*p == 's')
                    sig_arg = val;
                else
                    globals = val;
                goto next_arg;
            }
            default:
                fprintf(stderr, "rampart: invalid option: \"%c\"\n", *p);
                return 1;
            }
        }
    next_arg:;
    }

    rp_tls_init();
    rp_tls_set_sni_resolver(sni_server);
    /* kept for the whole run (static: still reachable at exit) */
    static char *prefix, *path;
    prefix = make_prefix(prefix_arg ? prefix_arg : RP_DEFAULT_PREFIX);
    path = conf_path(prefix, conf_arg ? conf_arg : RP_DEFAULT_CONF);
    char err[1024];

    if (test || sig_arg) {
        rp_conf_t *conf = rp_conf_load(path, prefix, globals, RP_CONF_TEST, err, sizeof(err));
        if (!conf) {
            fprintf(stderr, "rampart: [emerg] %s\n", err);
            if (test)
                fprintf(stderr, "rampart: configuration file %s test failed\n", path);
            return 1;
        }
        if (sig_arg) {
            int rc = send_signal(conf, sig_arg);
            rp_conf_unref(conf);
            return rc;
        }
        if (!quiet) {
            fprintf(stderr, "rampart: the configuration file %s syntax is ok\n", path);
            fprintf(stderr, "rampart: configuration file %s test is successful\n", path);
        }
        if (dump)
            rp_conf_dump(path, prefix, stdout);
        rp_conf_unref(conf);
        return 0;
    }

    rp_conf_t *conf = rp_conf_load(path, prefix, globals, 0, err, sizeof(err));
    if (!conf) {
        fprintf(stderr, "rampart: [emerg] %s\n", err);
        return 1;
    }
    if (conf->worker_rlimit_nofile > 0) {
        struct rlimit rl = { (rlim_t)conf->worker_rlimit_nofile,
                             (rlim_t)conf->worker_rlimit_nofile };
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "rampart: [alert] setrlimit(RLIMIT_NOFILE, %lld) failed (%d: %s)\n",
                    (long long)conf->worker_rlimit_nofile, errno, strerror(errno));
    }
    if (rp_workers_prepare(conf, conf->worker_processes, err, sizeof(err)) != RP_OK) {
        fprintf(stderr, "rampart: [emerg] %s\n", err);
        return 1;
    }
    apply_error_log(conf);
    signal(SIGPIPE, SIG_IGN);
    if (conf->daemon)
        daemonize();
    if (conf->pid_path && write_pid(conf->pid_path) != RP_OK)
        rp_log_error(RP_LOG_ALERT, "could not write pid file \"%s\" (%d: %s)", conf->pid_path,
                     errno, strerror(errno));
    if (drop_privileges(conf) != RP_OK)
        return 1;

    /* signals are read by the main thread only, through a signalfd; the
     * mask is inherited by the worker threads created below */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        rp_log_error(RP_LOG_EMERG, "signalfd() failed (%d: %s)", errno, strerror(errno));
        return 1;
    }
    if (rp_workers_start(conf, err, sizeof(err)) != RP_OK) {
        rp_log_error(RP_LOG_EMERG, "%s", err);
        return 1;
    }
    rp_log_error(RP_LOG_NOTICE, "%s started, %d worker threads", RP_VERSION_TEXT,
                 conf->worker_processes);

    int how = 0;
    while (!how) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof(si));
        if (n != sizeof(si)) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        switch (si.ssi_signo) {
        case SIGHUP: {
            rp_log_error(RP_LOG_NOTICE, "reconfiguring");
            rp_conf_t *nc = rp_conf_load(path, prefix, globals, 0, err, sizeof(err));
            if (!nc) {
                rp_log_error(RP_LOG_EMERG, "%s", err);
                rp_log_error(RP_LOG_NOTICE, "reload failed, the running configuration stays");
                break;
            }
            if (nc->worker_processes != conf->worker_processes)
                rp_log_error(RP_LOG_WARN,
                             "\"worker_processes\" changes need a restart; "
                             "keeping %d",
                             conf->worker_processes);
            if (rp_workers_prepare(nc, rp_nworkers, err, sizeof(err)) != RP_OK) {
                rp_log_error(RP_LOG_EMERG, "%s", err);
                rp_log_error(RP_LOG_NOTICE, "reload failed, the running configuration stays");
                rp_conf_unref(nc);
                break;
            }
            apply_error_log(nc);
            rp_workers_publish(nc);
            rp_conf_unref(conf);
            conf = nc;
            rp_log_error(RP_LOG_NOTICE, "configuration generation %lu active", conf->generation);
            break;
        }
        case SIGUSR1:
            rp_log_error(RP_LOG_NOTICE, "reopening logs");
            rp_log_reopen_all();
            break;
        case SIGQUIT:
            rp_log_error(RP_LOG_NOTICE, "gracefully shutting down");
            how = 1;
            break;
        case SIGTERM:
        case SIGINT:
            rp_log_error(RP_LOG_NOTICE, "exiting");
            how = 2;
            break;
        default:
            break;
        }
    }
    rp_workers_quit(how ? how : 2);
    rp_workers_join();
    if (conf->pid_path)
        unlink(conf->pid_path);
    rp_log_error(RP_LOG_NOTICE, "exit");
    return 0;
}
