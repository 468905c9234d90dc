//! Who is calling the admin socket, and whether they may.
//!
//! `SO_PEERCRED` gives the caller's uid and primary gid; membership of the
//! admin group through supplementary groups needs `getgrouplist`.

use std::ffi::{CStr, CString};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::UnixListener;

/// The credentials of the process on the other end of the admin socket.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    /// Caller's uid.
    pub uid: u32,
    /// Caller's primary gid.
    pub gid: u32,
    /// Caller's pid, when the kernel tells.
    pub pid: Option<i32>,
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        match stream.io().peer_cred() {
            Ok(cred) => Peer {
                uid: cred.uid(),
                gid: cred.gid(),
                pid: cred.pid(),
            },
            // Unknown credentials are never authorized: u32::MAX is no one.
            Err(_) => Peer {
                uid: u32::MAX,
                gid: u32::MAX,
                pid: None,
            },
        }
    }
}

/// The gid of a group by name.
pub fn group_gid(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: getgrnam_r with a valid C string, our own result struct and buffer.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrnam_r(
            cname.as_ptr(),
            &mut grp,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        (rc == 0 && !result.is_null()).then_some(grp.gr_gid)
    }
}

/// The user name and primary gid of a uid.
fn user(uid: u32) -> Option<(CString, u32)> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: getpwuid_r with our own result struct and buffer; the name is
    // copied out before the buffer goes away.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() {
            return None;
        }
        Some((CStr::from_ptr(pwd.pw_name).to_owned(), pwd.pw_gid))
    }
}

/// The caller's Unix user name, as the record of moderation names the
/// admin who acted (`uid N` for a uid without one).
pub fn user_name(uid: u32) -> String {
    match user(uid) {
        Some((name, _)) => name.to_string_lossy().into_owned(),
        None => format!("uid {uid}"),
    }
}

/// The admin who called, as moderation's record names them.
pub fn admin(uid: u32) -> crate::ops::moderate::Actor {
    crate::ops::moderate::Actor::Admin {
        user: user_name(uid),
        uid,
    }
}

/// Whether `uid` (whose primary gid is `gid`) is a member of group `target`.
pub fn in_group(uid: u32, gid: u32, target: u32) -> bool {
    if gid == target {
        return true;
    }
    let Some((name, primary)) = user(uid) else {
        return false;
    };
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: getgrouplist fills at most `n` entries and updates `n`.
    let rc = unsafe { libc::getgrouplist(name.as_ptr(), primary, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        groups.resize(n.max(0) as usize, 0);
        // SAFETY: as above, with a buffer of the size the first call asked for.
        if unsafe { libc::getgrouplist(name.as_ptr(), primary, groups.as_mut_ptr(), &mut n) } < 0 {
            return false;
        }
    }
    groups.truncate(n.max(0) as usize);
    groups.contains(&target)
}

/// The admission rule: root, the daemon's own user, or a member of the admin group.
pub fn allowed(peer: &Peer, daemon_uid: u32, admin_gid: Option<u32>) -> bool {
    peer.uid == 0
        || peer.uid == daemon_uid
        || admin_gid.is_some_and(|g| in_group(peer.uid, peer.gid, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_self_are_allowed_others_not() {
        let me = crate::store::paths::euid();
        let peer = |uid| Peer {
            uid,
            gid: 65534,
            pid: None,
        };
        assert!(allowed(&peer(0), me, None));
        assert!(allowed(&peer(me), me, None));
        assert!(!allowed(&peer(65534), 1234, None));
        assert!(!allowed(&peer(u32::MAX), 1234, None));
    }

    #[test]
    fn group_membership() {
        let root_gid = group_gid("root").expect("a root group exists");
        assert_eq!(root_gid, 0);
        assert!(in_group(0, 0, root_gid));
        assert!(group_gid("no-such-group-for-chat").is_none());
        // nobody (65534) is not in the root group.
        assert!(!in_group(65534, 65534, root_gid));
    }
}
