//! An io_uring reactor with the epoll reactor's contract: level-triggered readiness
//! by token.
//!
//! Each watched fd has one one-shot `IORING_OP_POLL_ADD` in flight. The kernel checks
//! readiness when the poll is submitted, so a poll armed again after it fired reports
//! at once while data is still there: level-triggered, as epoll is here (a read that
//! stops at its budget is served again next turn). Polls are armed again, changed and
//! added in the submission queue and reach the kernel with the wait, in one
//! `io_uring_enter` per turn. A multishot poll would save re-arming but reports edges,
//! which would change when a connection is read.
//!
//! A CQE names its poll by `user_data`: the fd and a sequence number bumped at each
//! arm, so completions of polls that were replaced or removed (and of an fd number
//! reused by a new connection) are told apart and dropped.

use std::io;
use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types, IoUring};

use super::Event;

/// The `user_data` of poll removals, whose completions mean nothing to us.
const REMOVAL: u64 = u64::MAX;
/// Set in the `user_data` of sends (with the send's index in its batch); polls
/// never have it (fds are below 2^31).
const SEND: u64 = 1 << 63;
/// Submission queue entries; the completion queue gets twice as many, and a kernel
/// with `IORING_FEAT_NODROP` (required by the probe) keeps overflow instead of dropping it.
const ENTRIES: u32 = 256;

/// A watched fd.
struct Registration {
    token: u64,
    interest: u32,
    /// The sequence of its latest poll.
    seq: u32,
    /// Is that poll still in the kernel (not yet completed or removed)?
    armed: bool,
}

pub struct Uring {
    ring: IoUring,
    /// Registrations by fd number.
    regs: Vec<Option<Registration>>,
    /// Last sequence used per fd number; kept across delete so a reused number never
    /// repeats a sequence still in flight.
    seqs: Vec<u32>,
    /// Fds whose poll fired: armed again at the next wait.
    fired: Vec<RawFd>,
    /// Readiness reaped while a send batch completed: reported by the next wait, and
    /// their fds armed again only at the wait after (armed before the owner reads,
    /// a poll would fire again at once for the same bytes).
    ready: Vec<Event>,
    fired_later: Vec<RawFd>,
    /// Results of the send batch in flight, by index; and how many came back.
    sent: Vec<i32>,
    sends_done: usize,
}

/// A stopping shard's ring: every poll still in the kernel is removed, and the removals
/// waited for (100 ms at most), before the ring goes. A poll holds its socket open, so
/// without this a stopped server's listening port stays taken until the kernel's
/// asynchronous ring teardown runs, and a server restarted on that port fails.
impl Drop for Uring {
    fn drop(&mut self) {
        let armed: Vec<RawFd> = self
            .regs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.as_ref().is_some_and(|r| r.armed))
            .map(|(fd, _)| fd as RawFd)
            .collect();
        let mut expected = 0;
        for fd in armed {
            if matches!(self.disarm(fd), Ok(true)) {
                expected += 2; // the removal's completion and the removed poll's
            }
        }
        let timeout = types::Timespec::new().nsec(100_000_000);
        let args = types::SubmitArgs::new().timespec(&timeout);
        let mut seen = 0;
        while seen < expected {
            if self.ring.submitter().submit_with_args(expected - seen, &args).is_err() {
                break; // timed out, or the kernel refused: the teardown frees them later
            }
            let reaped = self.ring.completion().count();
            if reaped == 0 {
                break;
            }
            seen += reaped;
        }
    }
}

fn user_data(fd: RawFd, seq: u32) -> u64 {
    ((fd as u32 as u64) << 32) | seq as u64
}

fn index(fd: RawFd) -> io::Result<usize> {
    usize::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))
}

impl Uring {
    /// A ring for the shard thread that will own it. Made on a throwaway thread: the
    /// kernel ties a ring to the threads that create or submit to it, and when the ring
    /// goes it interrupts each one still alive (task work with TWA_SIGNAL), which a host
    /// thread calling `Server::start` would see as a stray EINTR in its own calls.
    pub fn new() -> io::Result<Self> {
        let ring = on_own_thread(|| {
            // Completions run at our next system call instead of interrupting the
            // shard thread each (5.19+); older kernels take the plain ring.
            IoUring::builder().setup_coop_taskrun().setup_taskrun_flag().build(ENTRIES).or_else(|_| IoUring::new(ENTRIES))
        })?;
        Ok(Uring { ring, regs: Vec::new(), seqs: Vec::new(), fired: Vec::new(), ready: Vec::new(), fired_later: Vec::new(), sent: Vec::new(), sends_done: 0 })
    }

    /// Does this kernel (and its seccomp policy) give us a ring that does what this
    /// reactor needs? A real poll on an eventfd round-trips through it, on a throwaway
    /// thread (see [`new`](Self::new)); the answer is kept for the process.
    pub fn probe() -> io::Result<()> {
        static ANSWER: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        ANSWER.get_or_init(|| on_own_thread(probe_ring).map_err(|e| e.to_string())).clone().map_err(io::Error::other)
    }
}

fn on_own_thread<T: Send + 'static>(make: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    std::thread::spawn(make).join().unwrap_or_else(|_| Err(io::Error::other("io_uring set-up panicked")))
}

fn probe_ring() -> io::Result<()> {
    let mut ring: IoUring = IoUring::new(4)?;
    let params = ring.params();
    if !params.is_feature_ext_arg() || !params.is_feature_nodrop() {
        return Err(io::Error::other("kernel too old (needs IORING_FEAT_EXT_ARG and NODROP, 5.11+)"));
    }
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    if !probe.is_supported(opcode::PollAdd::CODE) || !probe.is_supported(opcode::PollRemove::CODE) {
        return Err(io::Error::other("IORING_OP_POLL_ADD/POLL_REMOVE not supported"));
    }
    let efd = super::sys::EventFd::new()?;
    efd.notify();
    let poll = opcode::PollAdd::new(types::Fd(efd.raw()), libc::POLLIN as u32).build().user_data(7);
    // SAFETY: the entry refers to no user memory; the eventfd outlives the ring's use
    // of it (the completion is awaited below, before `efd` drops).
    unsafe { ring.submission().push(&poll) }.map_err(|_| io::Error::other("submission queue full"))?;
    let ts = types::Timespec::new().sec(1);
    ring.submitter().submit_with_args(1, &types::SubmitArgs::new().timespec(&ts))?;
    let done = ring.completion().next().map(|cqe| (cqe.user_data(), cqe.result()));
    match done {
        Some((7, res)) if res >= 0 => Ok(()),
        Some((_, res)) => Err(io::Error::from_raw_os_error(-res)),
        None => Err(io::Error::other("a poll on a ready eventfd did not complete")),
    }
}

impl Uring {
    /// Puts `entry` in the submission queue, submitting what is queued if it is full.
    fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: polls and poll removals point at no user memory, and the fds they
            // name are only closed after `delete`, which removes the poll first; sends
            // point at buffers `send_batch` keeps borrowed until their completions.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            self.submit()?;
            if self.ring.submission().is_full() {
                // The kernel took nothing: completions are backed up. Reaped now (their
                // events kept for the next wait), so it can go on.
                self.reap_for_later();
            }
        }
    }

    /// Hands queued entries to the kernel without waiting.
    fn submit(&mut self) -> io::Result<()> {
        match self.ring.submit() {
            Ok(_) => Ok(()),
            // Completions backed up: they are reaped at the wait, and submission retried.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EINTR)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn arm(&mut self, fd: RawFd) -> io::Result<()> {
        let i = index(fd)?;
        let seq = self.seqs[i].wrapping_add(1);
        self.seqs[i] = seq;
        let Some(reg) = self.regs[i].as_mut() else { return Ok(()) };
        reg.seq = seq;
        reg.armed = true;
        let poll = opcode::PollAdd::new(types::Fd(fd), reg.interest).build().user_data(user_data(fd, seq));
        self.push(&poll)
    }

    /// Removes the fd's poll in flight, if any.
    fn disarm(&mut self, fd: RawFd) -> io::Result<bool> {
        let i = index(fd)?;
        let Some(reg) = self.regs.get_mut(i).and_then(Option::as_mut) else { return Ok(false) };
        if !reg.armed {
            return Ok(false);
        }
        reg.armed = false;
        let removal = opcode::PollRemove::new(user_data(fd, reg.seq)).build().user_data(REMOVAL);
        self.push(&removal)?;
        Ok(true)
    }

    pub fn add(&mut self, fd: RawFd, interest: u32, token: u64) -> io::Result<()> {
        let i = index(fd)?;
        if self.regs.len() <= i {
            self.regs.resize_with(i + 1, || None);
            self.seqs.resize(i + 1, 0);
        }
        if self.regs[i].is_some() {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        // The epoll bits READABLE/WRITABLE use poll(2)'s values (EPOLLIN == POLLIN...).
        self.regs[i] = Some(Registration { token, interest, seq: 0, armed: false });
        self.arm(fd)
    }

    pub fn modify(&mut self, fd: RawFd, interest: u32, token: u64) -> io::Result<()> {
        let i = index(fd)?;
        if self.regs.get(i).is_none_or(Option::is_none) {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        self.disarm(fd)?;
        if let Some(reg) = self.regs[i].as_mut() {
            reg.interest = interest;
            reg.token = token;
        }
        self.arm(fd)
    }

    /// Forgets `fd`. Its poll is removed at once, before the caller closes the fd: a
    /// poll in flight holds the socket open, and a closed connection must close now.
    pub fn delete(&mut self, fd: RawFd) -> io::Result<()> {
        let removed = self.disarm(fd)?;
        let i = index(fd)?;
        if self.regs.get_mut(i).and_then(Option::take).is_none() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        if removed {
            self.submit()?;
        }
        Ok(())
    }

    /// Arms again the polls that fired, submits, waits up to `timeout_ms` (-1: forever)
    /// for a completion, and reports the ready fds in `out`.
    pub fn wait(&mut self, timeout_ms: i32, out: &mut Vec<Event>) -> io::Result<()> {
        out.clear();
        out.append(&mut self.ready);
        let timeout_ms = if out.is_empty() { timeout_ms } else { 0 };
        let mut fired = std::mem::take(&mut self.fired);
        for fd in fired.drain(..) {
            let still_watched = self.regs.get(fd as usize).is_some_and(|r| r.as_ref().is_some_and(|r| !r.armed));
            if still_watched {
                self.arm(fd)?;
            }
        }
        fired.append(&mut self.fired_later);
        self.fired = fired;
        let res = if timeout_ms < 0 {
            self.ring.submit_and_wait(1)
        } else if timeout_ms == 0 {
            let idle = { let sq = self.ring.submission(); sq.is_empty() && !sq.taskrun() };
            if idle {
                Ok(0) // nothing to hand over or to run: completions are read from memory
            } else {
                self.ring.submit()
            }
        } else {
            let ts = types::Timespec::new().sec(timeout_ms as u64 / 1000).nsec((timeout_ms as u32 % 1000) * 1_000_000);
            self.ring.submitter().submit_with_args(1, &types::SubmitArgs::new().timespec(&ts))
        };
        if let Err(e) = res {
            if !matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY)) {
                return Err(e);
            }
        }
        self.reap(out);
        Ok(())
    }

    /// Reaps outside a wait: the events are reported by the next wait.
    fn reap_for_later(&mut self) {
        let (mut ready, fired_before) = (std::mem::take(&mut self.ready), self.fired.len());
        self.reap(&mut ready);
        self.ready = ready;
        let (fired, later) = (&mut self.fired, &mut self.fired_later);
        later.extend(fired.drain(fired_before..));
    }

    /// Turns the completions of current polls into events and records those of
    /// sends; drops the rest.
    fn reap(&mut self, out: &mut Vec<Event>) {
        let (regs, fired) = (&mut self.regs, &mut self.fired);
        for cqe in self.ring.completion() {
            let data = cqe.user_data();
            if data == REMOVAL {
                continue;
            }
            if data & SEND != 0 {
                if let Some(slot) = self.sent.get_mut((data & !SEND) as usize) {
                    *slot = cqe.result();
                    self.sends_done += 1;
                }
                continue;
            }
            let (fd, seq) = ((data >> 32) as RawFd, data as u32);
            let Some(reg) = regs.get_mut(fd as usize).and_then(Option::as_mut) else { continue };
            if reg.seq != seq || !reg.armed {
                continue; // a poll that was replaced or removed
            }
            reg.armed = false;
            fired.push(fd);
            let res = cqe.result();
            if res == -libc::ECANCELED {
                continue;
            }
            // A failed poll (the fd went bad) reads as a hang-up, so the owner closes it.
            let bits = if res < 0 { libc::POLLERR as u32 } else { res as u32 };
            out.push(Event {
                token: reg.token,
                readable: bits & libc::POLLIN as u32 != 0,
                writable: bits & libc::POLLOUT as u32 != 0,
                hangup: bits & (libc::POLLHUP | libc::POLLERR) as u32 != 0,
            });
        }
    }
}

impl Uring {
    /// Sends each buffer on its fd in one `io_uring_enter` (however many there are):
    /// the replies of a whole turn leave with one system call. `MSG_DONTWAIT` makes a
    /// full socket answer -EAGAIN at once instead of the kernel waiting for room, so
    /// every send completes within this call and the buffers are free again when it
    /// returns. `results[i]` is buffer i's byte count or -errno.
    pub fn send_batch<'a>(&mut self, bufs: impl Iterator<Item = (RawFd, &'a [u8])>, results: &mut Vec<i32>) {
        self.sent.clear();
        self.sends_done = 0;
        for (fd, buf) in bufs {
            let len = buf.len().min(u32::MAX as usize) as u32;
            let send = opcode::Send::new(types::Fd(fd), buf.as_ptr(), len)
                .flags(libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
                .build()
                .user_data(SEND | self.sent.len() as u64);
            self.sent.push(0);
            // A full queue is submitted on the spot; its sends are awaited below.
            if self.push(&send).is_err() {
                Self::abandon("could not queue a send");
            }
        }
        while self.sends_done < self.sent.len() {
            if let Err(e) = self.ring.submit_and_wait(1) {
                if !matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY | libc::EAGAIN)) {
                    Self::abandon("io_uring_enter failed with sends in flight");
                }
            }
            self.reap_for_later();
        }
        results.clear();
        results.append(&mut self.sent);
    }

    /// The kernel may still read buffers we can no longer vouch for: the process
    /// must not go on. (Not seen in practice: enter fails so only for a broken ring.)
    fn abandon(why: &str) -> ! {
        crate::log_warning!("io_uring reactor: {why}; aborting");
        std::process::abort()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reactor::{READABLE, WRITABLE};
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// A ring, or None (with a line saying so) where this kernel refuses io_uring.
    fn ring() -> Option<Uring> {
        match Uring::probe() {
            Ok(()) => Some(Uring::new().expect("ring after a good probe")),
            Err(e) => {
                eprintln!("io_uring refused by this kernel ({e}): test skipped");
                None
            }
        }
    }

    fn tokens(u: &mut Uring, timeout_ms: i32) -> Vec<(u64, bool, bool)> {
        let mut out = Vec::new();
        u.wait(timeout_ms, &mut out).unwrap();
        out.iter().map(|e| (e.token, e.readable, e.writable)).collect()
    }

    #[test]
    fn readiness_is_level_triggered() {
        let Some(mut u) = ring() else { return };
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        u.add(b.as_raw_fd(), READABLE, 5).unwrap();
        assert!(tokens(&mut u, 0).is_empty());
        a.write_all(b"hello").unwrap();
        assert_eq!(tokens(&mut u, 1000), vec![(5, true, false)]);
        // Not read yet: reported again, as level-triggered epoll does.
        assert_eq!(tokens(&mut u, 1000), vec![(5, true, false)]);
        let mut buf = [0u8; 16];
        assert_eq!((&b).read(&mut buf).unwrap(), 5);
        assert!(tokens(&mut u, 20).is_empty(), "drained: a short timeout passes quietly");
    }

    #[test]
    fn modify_switches_interest_and_token() {
        let Some(mut u) = ring() else { return };
        let (_a, b) = UnixStream::pair().unwrap();
        u.add(b.as_raw_fd(), READABLE, 1).unwrap();
        assert!(tokens(&mut u, 0).is_empty());
        u.modify(b.as_raw_fd(), READABLE | WRITABLE, 2).unwrap();
        assert_eq!(tokens(&mut u, 1000), vec![(2, false, true)]);
        u.modify(b.as_raw_fd(), READABLE, 3).unwrap();
        assert!(tokens(&mut u, 20).is_empty());
    }

    #[test]
    fn deleted_fd_reports_nothing_even_when_its_number_is_reused() {
        let Some(mut u) = ring() else { return };
        let (mut a, b) = UnixStream::pair().unwrap();
        let fd = b.as_raw_fd();
        u.add(fd, READABLE, 1).unwrap();
        assert!(tokens(&mut u, 0).is_empty(), "the poll is in the kernel now");
        u.delete(fd).unwrap();
        drop(b);
        // The peer sees the close at once: the removed poll holds no reference.
        a.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(a.read(&mut buf).unwrap(), 0);
        let (mut c, d) = UnixStream::pair().unwrap();
        let reused = [c.as_raw_fd(), d.as_raw_fd()].contains(&fd);
        u.add(d.as_raw_fd(), READABLE, 2).unwrap();
        assert!(tokens(&mut u, 0).iter().all(|t| t.0 != 1), "no event for the deleted registration");
        c.write_all(b"y").unwrap();
        assert_eq!(tokens(&mut u, 1000), vec![(2, true, false)], "fd number reused: {reused}");
        assert!(u.delete(d.as_raw_fd()).is_ok() && u.delete(d.as_raw_fd()).is_err());
    }

    #[test]
    fn a_send_batch_never_waits_for_a_full_socket() {
        let Some(mut u) = ring() else { return };
        let (mut a, b) = UnixStream::pair().unwrap();
        let (_c, d) = UnixStream::pair().unwrap();
        d.set_nonblocking(true).unwrap();
        while (&d).write(&[0u8; 65536]).is_ok() {} // d's peer never reads: d is full
        let mut results = Vec::new();
        let bufs = [(b.as_raw_fd(), &b"hi"[..]), (d.as_raw_fd(), &b"stuck"[..])];
        u.send_batch(bufs.into_iter(), &mut results);
        assert_eq!(results, vec![2, -libc::EAGAIN]);
        let mut buf = [0u8; 2];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
    }

    #[test]
    fn readiness_seen_during_a_send_batch_is_reported_once() {
        let Some(mut u) = ring() else { return };
        let (mut a, b) = UnixStream::pair().unwrap();
        let (_c, d) = UnixStream::pair().unwrap();
        u.add(b.as_raw_fd(), READABLE, 3).unwrap();
        assert!(tokens(&mut u, 0).is_empty());
        a.write_all(b"ping").unwrap();
        let mut results = Vec::new();
        u.send_batch([(d.as_raw_fd(), &b"x"[..])].into_iter(), &mut results);
        assert_eq!(tokens(&mut u, 0), vec![(3, true, false)]);
        let mut buf = [0u8; 4];
        (&b).read_exact(&mut buf).unwrap();
        assert!(tokens(&mut u, 20).is_empty(), "read already: no second report");
    }

    #[test]
    fn hangup_is_reported() {
        let Some(mut u) = ring() else { return };
        let (a, b) = UnixStream::pair().unwrap();
        u.add(b.as_raw_fd(), READABLE, 9).unwrap();
        drop(a);
        let mut out = Vec::new();
        u.wait(1000, &mut out).unwrap();
        assert!(out.len() == 1 && out[0].token == 9 && (out[0].readable || out[0].hangup));
    }

    #[test]
    fn eventfd_wakes_a_wait_forever() {
        let Some(mut u) = ring() else { return };
        let efd = std::sync::Arc::new(crate::reactor::sys::EventFd::new().unwrap());
        u.add(efd.raw(), READABLE, 4).unwrap();
        let waker = std::sync::Arc::clone(&efd);
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            waker.notify();
        });
        assert_eq!(tokens(&mut u, -1), vec![(4, true, false)]);
        t.join().unwrap();
    }
}

#[cfg(test)]
mod host_thread {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    /// The thread that probes and makes rings (a host calling `Server::start`) is not
    /// interrupted when the rings go: a blocking read of its own is not cut by EINTR.
    #[test]
    fn making_and_dropping_rings_does_not_interrupt_the_caller() {
        if Uring::probe().is_err() {
            eprintln!("io_uring refused by this kernel: test skipped");
            return;
        }
        let u = Uring::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let t = std::thread::spawn(move || {
            drop(u);
            std::thread::sleep(std::time::Duration::from_millis(300));
            (&b).write_all(b"q").unwrap();
        });
        let mut buf = [0u8; 4];
        let read = a.read(&mut buf);
        t.join().unwrap();
        assert_eq!(read.unwrap(), 1, "the caller's read was interrupted");
    }
}
