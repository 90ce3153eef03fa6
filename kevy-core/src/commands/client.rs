//! The state of one client connection that commands read and change (name, protocol,
//! library info, subscriptions), and the copy of it each shard publishes for CLIENT LIST.

use std::collections::BTreeSet;

/// Per-connection session state.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub id: u64,
    pub name: Vec<u8>,
    pub resp3: bool,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: u64,
    pub last_cmd_ms: u64,
    /// Full name of the last command run (`client|list`), for CLIENT LIST.
    pub last_cmd: &'static str,
    /// Not yet authenticated: `requirepass` was set when it connected (or at its last
    /// RESET). False by default, so host calls and internal clients need no AUTH.
    pub auth_pending: bool,
    /// Set by QUIT: close once the reply is written.
    pub close_after_reply: bool,
    /// Set by commands that change what CLIENT LIST shows (SETNAME, HELLO, SETINFO).
    pub changed: bool,
    /// The connection's slot and generation on its shard (pub/sub delivers by them).
    pub slot: u32,
    pub generation: u32,
    /// Channels, patterns and shard channels it is subscribed to.
    pub subs: Subscriptions,
    /// Inside MULTI: the number of queued commands.
    pub multi: Option<usize>,
    /// The connection's WATCH flag while it watches keys (CLIENT LIST shows `d` once a
    /// watched key changed).
    pub watch: Option<std::sync::Arc<crate::store::watched::WatchFlag>>,
}

impl Client {
    /// A client connection (not the host's in-process calls, whose client has no
    /// peer address).
    pub fn is_connection(&self) -> bool {
        !self.addr.is_empty()
    }

    /// Connected from loopback?
    pub fn is_local(&self) -> bool {
        self.addr.parse::<std::net::SocketAddr>().is_ok_and(|a| crate::commands::auth::is_loopback(a.ip()))
    }

    /// CLIENT LIST's flag letters, in Redis's order: `P` subscribed, `x` inside MULTI,
    /// `d` a watched key changed; `N` for none.
    fn flags(&self) -> String {
        let mut f = String::new();
        if self.subs.any() {
            f.push('P');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.watch.as_ref().is_some_and(|w| w.is_set()) {
            f.push('d');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// The `CLIENT LIST` / `CLIENT INFO` line for this client (without the newline).
    pub fn describe(&self, now_ms: u64) -> String {
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} ssub={} multi={} \
             qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r \
             cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&self.name),
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_cmd_ms) / 1000,
            self.flags(),
            self.subs.channels.len(),
            self.subs.patterns.len(),
            self.subs.shard_channels.len(),
            self.multi.map_or(-1, |n| n as i64),
            if self.last_cmd.is_empty() { "NULL" } else { self.last_cmd },
            if self.resp3 { 3 } else { 2 },
            String::from_utf8_lossy(&self.lib_name),
            String::from_utf8_lossy(&self.lib_ver),
        )
    }
}

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// Its index in per-kind tables.
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// A connection's subscriptions (kept in its `Client`).
#[derive(Clone, Debug, Default)]
pub struct Subscriptions {
    pub channels: BTreeSet<Vec<u8>>,
    pub patterns: BTreeSet<Vec<u8>>,
    pub shard_channels: BTreeSet<Vec<u8>>,
}

impl Subscriptions {
    pub fn set(&mut self, kind: Kind) -> &mut BTreeSet<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }
    /// What (P)SUBSCRIBE replies count: channels plus patterns.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
    /// Is the connection in subscribed mode (any subscription at all)?
    pub fn any(&self) -> bool {
        self.count() + self.shard_channels.len() > 0
    }
}
