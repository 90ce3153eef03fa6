//! Serving a shard's connections while a script on its thread is busy, from the
//! script's hook (as Redis's processEventsWhileBlocked).
//!
//! The shard's front end (reactor, listeners, connection slab) is shared with the event
//! loop through an `Rc<RefCell<..>>`; the loop never holds it while a command runs, and
//! the connection whose pipeline runs the script is out of the slab then, so it is not
//! read. Polled without blocking, the servicer accepts new connections, reads input and
//! answers it with the pipeline of every connection (replies stay in request order):
//! `-BUSY` for what Redis refuses while busy, and the commands flagged ALLOW_BUSY
//! (SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN NOSAVE, AUTH, HELLO, MULTI...) run with
//! no keyspace: the script holds it. It does not drain the rings: other shards'
//! messages wait in them (or in their senders' backlogs) until the script ends.
//! Connections that WATCH keys are left alone until then (closing or unwatching them
//! takes keyspace locks), and WATCH itself gets `-BUSY`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use super::conn::Conn;
use crate::store::db::Db;
use super::dispatch::{after_command, run, run_pipeline, Step, Turn, Wake};
use crate::commands::call::Call;
use super::front::{Front, Written, LISTENER_TOKEN, WAKER_TOKEN};
use super::mailbox::Outbox;
use crate::store::routing::ShardId;
use super::txn::{self, SessionCtx};
use super::Shared;
use crate::commands::{flags, Command, Ctx};
use crate::persist::saver::shutdown;
use crate::reactor::Event;
use crate::resp::{Args, ReplyWriter};
use crate::scripting::busy::Servicer;
use crate::scripting::Running;
use crate::store::Keyspace;

/// The servicer a shard thread installs for its scripts' hook.
pub fn servicer(shared: &Arc<Shared>, id: ShardId, front: &Rc<RefCell<Front>>) -> Box<dyn Servicer> {
    Box::new(ShardServicer {
        shared: Arc::clone(shared),
        id,
        front: Rc::clone(front),
        events: Vec::with_capacity(256),
        outbox: Outbox::new(id, shared.shard_count()),
    })
}

struct ShardServicer {
    shared: Arc<Shared>,
    id: ShardId,
    front: Rc<RefCell<Front>>,
    events: Vec<Event>,
    /// What a `Turn` needs; nothing run while busy sends to other shards.
    outbox: Outbox,
}

impl Servicer for ShardServicer {
    fn stopping(&mut self, run: &Running) -> bool {
        if !self.shared.stop.load(Ordering::Acquire) {
            return false;
        }
        // The script is cut short: a save would write its half-done changes.
        if run.wrote.load(Ordering::Acquire) && self.shared.shutdown_mode.swap(shutdown::NOSAVE, Ordering::AcqRel) != shutdown::NOSAVE {
            crate::log_warning!("stopping during a script that wrote: its changes are not saved at shutdown");
        }
        true
    }

    fn threshold_ms(&self) -> u64 {
        crate::scripting::threshold_ms(&self.shared.config)
    }

    fn serve(&mut self, run: &Running) {
        let front = Rc::clone(&self.front);
        let Ok(mut front) = front.try_borrow_mut() else { return };
        let mut events = std::mem::take(&mut self.events);
        if front.reactor.wait(0, &mut events).is_ok() {
            let now_ms = self.shared.clock.now_ms();
            for ev in events.drain(..) {
                self.on_event(&mut front, ev, now_ms, run.busy_text());
            }
            front.send_queued(&self.shared, self.id, now_ms);
        }
        self.events = events;
    }
}

impl ShardServicer {
    fn on_event(&mut self, front: &mut Front, ev: Event, now_ms: u64, busy: &'static str) {
        let (shared, id) = (&*self.shared, self.id);
        if ev.token & LISTENER_TOKEN != 0 {
            front.accept(shared, id, (ev.token & !LISTENER_TOKEN) as usize, now_ms);
            return;
        }
        if ev.token == WAKER_TOKEN {
            return; // messages wait in the rings: the loop drains them after the script
        }
        let slot = ev.token as u32;
        // Absent: closed, or the script's own caller (out of the slab while it runs).
        let Some(conn) = front.conn(slot, (ev.token >> 32) as u32) else { return };
        if conn.watching.is_some() {
            return;
        }
        if (ev.readable || ev.hangup) && super::event_loop::read_input(shared, front, id, slot, now_ms) {
            let Some(conn) = front.conns[slot as usize].as_mut() else { return };
            let effects_on = shared.consumers_on();
            let mut turn = Turn { shared, me: id, now_ms, outbox: &mut self.outbox, commands: 0, busy: Some(busy), effects_on };
            run_pipeline(&mut turn, conn, slot);
        }
        // Replies held for the turn's fsync leave after it, with what follows them.
        if front.unflushed.contains(&slot) {
            return;
        }
        if let Written::Close = front.write(slot, now_ms) {
            front.close(shared, id, slot);
        }
    }
}

/// One command of a connection while the shard is busy: `-BUSY` (`busy`) unless Redis
/// allows it then; allowed ones run with no keyspace.
pub(super) fn run_one_busy<'g>(
    turn: &mut Turn<'g>,
    conn: &mut Conn,
    guard: &mut Option<MutexGuard<'g, Keyspace>>,
    cmd: &'static Command,
    args: Args<'_>,
    busy: &'static str,
) -> Step {
    let shared = turn.shared;
    // A command run now with keys (WATCH) would lock their keyspace, maybe the busy one;
    // inside MULTI it is queued, or refused without a lock (WATCH).
    let takes_keys = cmd.keys.first > 0 && conn.multi.is_none();
    if !cmd.has(flags::ALLOW_BUSY) || takes_keys {
        // Inside MULTI this dooms the transaction (EXEC: EXECABORT), as in Redis.
        txn::refused(shared, conn, guard, Some(cmd), busy);
    } else {
        // The same session stage as outside a busy script. Connections that watch are
        // not served now, so nothing here takes a lock.
        match txn::session(&mut SessionCtx { turn: &mut *turn, conn: &mut *conn, guard: &mut *guard }, cmd, args) {
            Some(Step::Wait) => return Step::Wait,
            Some(Step::Done) => {}
            None => run_keyless(turn, conn, cmd, args),
        }
    }
    turn.commands += 1;
    after_command(shared, turn.me, conn);
    Step::Done
}

/// Runs an ALLOW_BUSY command over no keyspace (none of them touches keys).
fn run_keyless(turn: &mut Turn<'_>, conn: &mut Conn, cmd: &'static Command, args: Args<'_>) {
    let db = Db::many((0..turn.shared.shard_count()).map(|_| None).collect());
    let resp3 = conn.client.resp3;
    let (buf, client) = conn.reply_parts();
    let mut ctx = Ctx::new(db, ReplyWriter::new(buf, resp3), turn.now_ms, Some(client), turn.shared, turn.me);
    // Called from a running script's hook: the script's time is no command's here.
    crate::commands::stats::slowlog::new_turn();
    run(turn.shared, &Call::new(cmd, args), &mut ctx, Wake::Never);
}
