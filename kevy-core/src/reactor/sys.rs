//! Raw syscalls the runtime needs that std does not offer: listeners with
//! `SO_REUSEPORT`, and eventfd wake-ups.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn set_flag(fd: libc::c_int, level: libc::c_int, name: libc::c_int) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `one` outlives the call and its size is passed alongside the pointer.
    check(unsafe {
        libc::setsockopt(fd, level, name, (&one as *const libc::c_int).cast(), std::mem::size_of::<libc::c_int>() as u32)
    })?;
    Ok(())
}

/// A non-blocking TCP listener with `SO_REUSEADDR` and `SO_REUSEPORT` set, so every
/// shard can listen on the same port and the kernel spreads connections over them.
///
/// `first` is the first of a server's listeners on this address: it binds before
/// `SO_REUSEPORT` is set, so the bind fails with `EADDRINUSE` when anyone (another
/// kevy too: same user, same flags) already holds the port. It then turns the flag on
/// and listens, so the server's other shards can join its group; a later server's
/// first (exclusive) bind conflicts with these listening sockets and fails.
pub fn reuseport_listener(addr: SocketAddr, backlog: i32, first: bool) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain syscall with constant arguments; the result is checked.
    let fd = check(unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    // SAFETY: fd is a fresh socket that nothing else owns; OwnedFd closes it on error.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    set_flag(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR)?;
    if !first {
        set_flag(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT)?;
    }
    if addr.is_ipv6() {
        set_flag(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?;
    }
    let (storage, len) = sockaddr_of(&addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for this address family.
    check(unsafe { libc::bind(fd, (&storage as *const libc::sockaddr_storage).cast(), len) })?;
    if first {
        set_flag(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT)?;
    }
    // SAFETY: fd is a bound stream socket.
    check(unsafe { libc::listen(fd, backlog) })?;
    Ok(TcpListener::from(owned))
}

fn sockaddr_of(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            (storage, std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            (storage, std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }
}

/// An eventfd used to wake a parked shard thread.
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: fd is a fresh eventfd owned by nobody else.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
    pub fn raw(&self) -> libc::c_int {
        self.0.as_raw_fd()
    }
    /// Adds one to the counter, making the fd readable.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. A full counter (EAGAIN) still leaves the
        // fd readable, which is all a wake-up needs, so the result is ignored.
        let _ = unsafe { libc::write(self.raw(), (&one as *const u64).cast(), 8) };
    }
    /// Resets the counter after a wake-up.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; EAGAIN (already drained) is harmless.
        let _ = unsafe { libc::read(self.raw(), (&mut v as *mut u64).cast(), 8) };
    }
}

/// One `read(2)` of `fd` into the spare capacity of `buf`, at most `max` bytes,
/// without zero-filling it first; what arrived is appended (the length grows by the
/// count returned). One call, so a short read costs no second call that finds
/// nothing: level-triggered readiness reports what arrives later.
pub fn read_spare(fd: libc::c_int, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    loop {
        // SAFETY: the pointer and `len` describe spare capacity of `buf`, which is
        // allocated and not otherwise borrowed; the kernel writes at most `len` bytes.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), len) };
        if n >= 0 {
            let n = n as usize;
            // SAFETY: the kernel initialized the first `n` (<= len) spare bytes.
            unsafe { buf.set_len(buf.len() + n) };
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Monotonic microseconds (CLOCK_MONOTONIC), as a plain integer: what the slow log
/// needs per command, without `Instant`'s checked timespec arithmetic.
#[inline]
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}
