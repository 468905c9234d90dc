//! Settings of the whole process, made once at start: the open-file limit,
//! core dumps, and how freed memory goes back to the system.

use crate::config::Config;

/// Every process-wide setting, as `config` asks: the open-file limit for
/// `max_users`, freed memory returned, core dumps off unless `core_dumps`.
pub fn prepare(config: &Config) {
    raise_fd_limit(config.max_users);
    return_freed_memory();
    if config.core_dumps {
        tracing::warn!(
            "core_dumps = true: a crash may write the keys and passwords in memory to a core file"
        );
    } else {
        forbid_core_dumps();
    }
}

/// Every connection is a file descriptor: raise the soft limit to the hard
/// one (commonly 1024 → 524288 under systemd), and warn when even that is
/// too low for `max_users`.
pub fn raise_fd_limit(max_users: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the plain struct only.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    let needed = crate::door::max_connections(max_users) as u64 + 64;
    if soft < needed {
        tracing::warn!(
            "the open-file limit is {soft}, too low for max_users = {max_users} (about {needed} needed); raise it (LimitNOFILE= in the unit, or ulimit -n) or lower max_users"
        );
    }
}

/// Core dumps off: a dump would hold the join key, the identity's private
/// key, session keys and passwords in a file. `PR_SET_DUMPABLE = 0` also
/// keeps other processes of the same user from attaching with ptrace or
/// reading `/proc/PID/mem`. `core_dumps = true` in the configuration
/// leaves both as they were, for debugging.
pub fn forbid_core_dumps() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the plain struct; prctl(PR_SET_DUMPABLE)
    // takes plain integers.
    let (limit, dumpable) = unsafe {
        (
            libc::setrlimit(libc::RLIMIT_CORE, &none),
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0),
        )
    };
    if limit != 0 || dumpable != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "could not turn core dumps off; a crash could write secrets to disk"
        );
    }
}

/// Every password check allocates argon2's 19 MiB. glibc would keep such
/// blocks in its arenas after the first is freed (its mmap threshold
/// rises to the largest freed block), so a burst of joins left chatd
/// hundreds of MiB larger for good. A fixed threshold keeps every large
/// block a mapping of its own, returned to the system when freed.
///
/// glibc also gives each thread that allocates under contention an arena
/// of its own, up to 8 per core: the `Welcome`s encoded on the blocking
/// pool's threads were freed into arenas that then kept what the join
/// storm left, each apart (1.4 KiB per idle joined connection at 1 000,
/// 12.0 → 10.6 KiB). Two arenas, unless `MALLOC_ARENA_MAX` says otherwise:
/// little is allocated per delivery, so the threads seldom wait for one.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called at start,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
