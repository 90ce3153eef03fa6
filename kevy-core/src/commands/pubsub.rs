//! Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE
//! SUNSUBSCRIBE PUBLISH SPUBLISH PUBSUB. The machinery is in `shard::pubsub`.

use super::{container, errors, flags::*, rules, Command, Ctx, KeySpec};
use crate::resp::Args;
use crate::store::blocked::ConnRef;
use crate::commands::client::Kind;

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: super::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).group("pubsub").summary(summary)
}

/// A (un)subscribe command: the ones RESP2 subscribed mode allows.
const fn sub(name: &'static str, arity: i32, handler: super::Handler, summary: &'static str) -> Command {
    cmd(name, arity, SUB, handler, summary).rules(rules::WHEN_SUBSCRIBED)
}

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[
    sub("subscribe", -2, subscribe, "Listens for messages published to channels."),
    sub("unsubscribe", -1, unsubscribe, "Stops listening to messages posted to channels."),
    sub("psubscribe", -2, psubscribe, "Listens for messages published to channels that match one or more patterns."),
    sub("punsubscribe", -1, punsubscribe, "Stops listening to messages published to channels that match one or more patterns."),
    sub("ssubscribe", -2, ssubscribe, "Listens for messages published to shard channels."),
    sub("sunsubscribe", -1, sunsubscribe, "Stops listening to messages posted to shard channels."),
    cmd("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, publish, "Posts a message to a channel."),
    cmd("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, spublish, "Post a message to a shard channel"),
    Command::new("pubsub", -2, 0, KeySpec::NONE, container).group("pubsub").summary("A container for Pub/Sub commands.").subcommands(PUBSUB_SUBCOMMANDS),
];

const INTROSPECT: u32 = PUBSUB | LOADING | STALE;

const PUBSUB_SUBCOMMANDS: &[Command] = &[
    cmd("pubsub|channels", -2, INTROSPECT, pubsub_channels, "Returns the active channels."),
    cmd("pubsub|numsub", -2, INTROSPECT, pubsub_numsub, "Returns a count of subscribers to channels."),
    cmd("pubsub|numpat", 2, INTROSPECT, pubsub_numpat, "Returns a count of unique pattern subscriptions."),
    cmd("pubsub|shardchannels", -2, INTROSPECT, pubsub_shardchannels, "Returns the active shard channels."),
    cmd("pubsub|shardnumsub", -2, INTROSPECT, pubsub_shardnumsub, "Returns the count of subscribers of shard channels."),
];

/// The reply count after a change: channels + patterns, or shard channels alone.
fn count_for(ctx: &mut Ctx<'_>, kind: Kind) -> i64 {
    let subs = &ctx.client().subs;
    (if kind == Kind::Shard { subs.shard_channels.len() } else { subs.count() }) as i64
}

fn conn_ref(ctx: &mut Ctx<'_>) -> ConnRef {
    let c = ctx.client();
    ConnRef { slot: c.slot, generation: c.generation }
}

/// One `[verb, name, count]` frame per subscription.
fn frame(ctx: &mut Ctx<'_>, verb: &str, name: Option<&[u8]>, count: i64) {
    ctx.out.push(3);
    ctx.out.bulk(verb.as_bytes());
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count);
}

fn do_subscribe(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind, verb: &str) {
    let conn = conn_ref(ctx);
    for name in args.from(1) {
        if ctx.client().subs.set(kind).insert(name.to_vec()) {
            ctx.shared.subscribe(ctx.shard, kind, name, conn);
            ctx.client().changed = true;
        }
        let n = count_for(ctx, kind);
        frame(ctx, verb, Some(name), n);
    }
}

fn do_unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind, verb: &str) {
    let conn = conn_ref(ctx);
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args.from(1).map(<[u8]>::to_vec).collect()
    } else {
        ctx.client().subs.set(kind).iter().cloned().collect()
    };
    if names.is_empty() {
        let n = count_for(ctx, kind);
        return frame(ctx, verb, None, n);
    }
    for name in names {
        if ctx.client().subs.set(kind).remove(&name) {
            ctx.shared.unsubscribe(ctx.shard, kind, &name, conn);
            ctx.client().changed = true;
        }
        let n = count_for(ctx, kind);
        frame(ctx, verb, Some(&name), n);
    }
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx<'_>, args: Args<'_>) {
    do_subscribe(ctx, args, Kind::Channel, "subscribe");
}

/// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) {
    do_unsubscribe(ctx, args, Kind::Channel, "unsubscribe");
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) {
    do_subscribe(ctx, args, Kind::Pattern, "psubscribe");
}

/// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) {
    do_unsubscribe(ctx, args, Kind::Pattern, "punsubscribe");
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) {
    do_subscribe(ctx, args, Kind::Shard, "ssubscribe");
}

/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) {
    do_unsubscribe(ctx, args, Kind::Shard, "sunsubscribe");
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let n = ctx.shared.publish(Kind::Channel, args.get(1), args.get(2));
    ctx.out.int(n);
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let n = ctx.shared.publish(Kind::Shard, args.get(1), args.get(2));
    ctx.out.int(n);
}

fn list_names(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) {
    if args.len() > 3 {
        return ctx.out.error(&errors::wrong_arity(if kind == Kind::Shard { "pubsub|shardchannels" } else { "pubsub|channels" }));
    }
    let names = ctx.shared.channel_names(kind, args.opt(2));
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(&n);
    }
}

fn count_names(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) {
    let names: Vec<&[u8]> = args.from(2).collect();
    ctx.out.array(names.len() * 2);
    for n in names {
        ctx.out.bulk(n);
        ctx.out.int(ctx.shared.subscriber_count(kind, n));
    }
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(ctx: &mut Ctx<'_>, args: Args<'_>) {
    list_names(ctx, args, Kind::Channel);
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: Args<'_>) {
    list_names(ctx, args, Kind::Shard);
}

/// PUBSUB NUMSUB [channel ...]
fn pubsub_numsub(ctx: &mut Ctx<'_>, args: Args<'_>) {
    count_names(ctx, args, Kind::Channel);
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: Args<'_>) {
    count_names(ctx, args, Kind::Shard);
}

/// PUBSUB NUMPAT
fn pubsub_numpat(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.int(ctx.shared.pattern_count());
}
