//! LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR/HELP over the server's latency monitor
//! (`commands::stats::latency`; samples come from the command timing in `commands::stats::slowlog`).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::commands::{container, errors, flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::Args;
use crate::commands::stats::latency::Series;

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).route(Route::Keys).group("server").summary(summary)
}

const ADMIN_CMD: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[Command::new("latency", -2, 0, KeySpec::NONE, container)
    .group("server")
    .summary("A container for latency diagnostics commands.")
    .subcommands(SUBCOMMANDS)];

const SUBCOMMANDS: &[Command] = &[
    cmd("latency|latest", 2, ADMIN_CMD, latency_latest, "Returns the latest latency samples for all events."),
    cmd("latency|history", 3, ADMIN_CMD, latency_history, "Returns timestamp-latency samples for an event."),
    cmd("latency|reset", -2, ADMIN_CMD, latency_reset, "Resets the latency data for one or more events."),
    cmd("latency|graph", 3, ADMIN_CMD, latency_graph, "Returns a latency graph for an event."),
    cmd("latency|doctor", 2, ADMIN_CMD, latency_doctor, "Returns a human-readable latency analysis report."),
    cmd("latency|help", 2, LOADING | STALE, latency_help, "Returns helpful text about the different subcommands."),
];

/// LATENCY LATEST
fn latency_latest(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let all = ctx.shared.latency().all();
    ctx.out.array(all.len());
    for (name, series) in all {
        let (time, ms) = series.samples.back().copied().unwrap_or_default();
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(time as i64);
        ctx.out.int(ms as i64);
        ctx.out.int(series.max_ms as i64);
    }
}

/// LATENCY HISTORY event
fn latency_history(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let samples = ctx.shared.latency().series(args.get(2)).map(|s| s.samples).unwrap_or_default();
    ctx.out.array(samples.len());
    for (time, ms) in samples {
        ctx.out.array(2);
        ctx.out.int(time as i64);
        ctx.out.int(ms as i64);
    }
}

/// LATENCY RESET [event ...]
fn latency_reset(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let names: Vec<&[u8]> = args.from(2).collect();
    ctx.out.int(ctx.shared.latency().reset(&names) as i64);
}

/// LATENCY GRAPH event: Redis's header line and rule (kevy draws no ASCII graph).
fn latency_graph(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let event = args.get(2);
    let Some(series) = ctx.shared.latency().series(event) else {
        return ctx.out.error(&errors::latency_no_samples(event));
    };
    let high = series.samples.iter().map(|s| s.1).max().unwrap_or(0);
    let low = series.samples.iter().map(|s| s.1).min().unwrap_or(0);
    let name = String::from_utf8_lossy(event);
    let text = format!("{name} - high {high} ms, low {low} ms (all time high {} ms)\n{}\n", series.max_ms, "-".repeat(80));
    ctx.out.verbatim(text.as_bytes());
}

/// LATENCY DOCTOR
fn latency_doctor(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let all = ctx.shared.latency().all();
    let threshold = ctx.shared.config().latency_threshold_ms.load(Ordering::Relaxed);
    let now_s = ctx.now_ms / 1000;
    let report = doctor_report(&all, threshold, now_s);
    ctx.out.verbatim(report.as_bytes());
}

/// The opening of Redis's latency report: the same sentences and per-event figures
/// (Redis's advice paragraphs are left out).
fn doctor_report(all: &[(&'static str, Series)], threshold_ms: u64, now_s: u64) -> String {
    if all.is_empty() && threshold_ms == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    if all.is_empty() {
        return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".into();
    }
    let mut out = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
    for (i, (name, series)) in all.iter().enumerate() {
        let n = series.samples.len().max(1) as u64;
        let avg = series.samples.iter().map(|s| s.1).sum::<u64>() / n;
        let mad = series.samples.iter().map(|s| s.1.abs_diff(avg)).sum::<u64>() / n;
        let oldest = series.samples.front().map_or(now_s, |s| s.0);
        let period = now_s.saturating_sub(oldest).max(1) as f64 / n as f64;
        let _ = writeln!(
            out,
            "{}. {name}: {n} latency spikes (average {avg}ms, mean deviation {mad}ms, period {period:.2} sec). Worst all time event {}ms.",
            i + 1,
            series.max_ms
        );
    }
    out
}

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

/// LATENCY HELP
fn latency_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.array(LATENCY_HELP.len());
    for line in LATENCY_HELP {
        ctx.out.simple(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_says_what_redis_says() {
        assert!(doctor_report(&[], 0, 0).starts_with("I'm sorry, Dave"));
        assert!(doctor_report(&[], 5, 0).starts_with("Dave, no latency spike"));
        let series = Series { samples: [(100, 1846)].into(), max_ms: 1846 };
        let report = doctor_report(&[("command", series)], 1, 100);
        assert!(report.ends_with("1. command: 1 latency spikes (average 1846ms, mean deviation 0ms, period 1.00 sec). Worst all time event 1846ms.\n"), "{report}");
    }
}
