//! The side-by-side table printed at the end of a run.

use hdrhistogram::Histogram;

use crate::relay::PhaseResult;
use crate::{Args, Target, TargetResult};

/// PeerServer on one core of this machine, used for the goals when it was not run.
const REFERENCE_PEERSERVER_RATE: f64 = 13_500.0;

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn latency(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "-".into();
    }
    format!(
        "{:.2} / {:.2} / {:.1}",
        ms(h, 0.5),
        ms(h, 0.99),
        h.max() as f64 / 1000.0
    )
}

fn cpu(p: &PhaseResult) -> String {
    format!(
        "{:.0}% / {:.0}% / {:.0}%",
        p.cpu.server() * 100.0,
        p.cpu.loadgen * 100.0,
        p.cpu.other * 100.0
    )
}

pub fn print(args: &Args, results: &[TargetResult]) {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, f: &dyn Fn(&TargetResult) -> Option<String>| {
        rows.push((
            label.to_string(),
            results.iter().map(|r| f(r).unwrap_or_else(|| "-".into())).collect(),
        ));
    };
    row("idle: clients held / wanted", &|r| {
        r.idle.as_ref().map(|i| format!("{} / {}", i.held(), i.wanted))
    });
    row("idle: distinct users (v1 accounts)", &|r| {
        let i = r.idle.as_ref()?;
        (i.users > 0).then(|| i.users.to_string())
    });
    row("idle: connect rate (clients/s)", &|r| {
        r.idle.as_ref().map(|i| format!("{:.0}", i.connect_rate()))
    });
    row("idle: server RSS before (MiB)", &|r| {
        r.idle
            .as_ref()
            .map(|i| format!("{:.1}", i.rss_before_kib as f64 / 1024.0))
    });
    row("idle: server RSS after (MiB)", &|r| {
        r.idle
            .as_ref()
            .map(|i| format!("{:.1}", i.rss_after_kib as f64 / 1024.0))
    });
    row("idle: RSS per idle client (KiB)", &|r| {
        r.idle.as_ref()?.kib_per_client().map(|k| format!("{k:.2}"))
    });
    row("relay: clients (pairs)", &|r| {
        r.relay.as_ref().map(|x| format!("{} ({})", x.clients, x.clients / 2))
    });
    row("closed loop: relayed msg/s", &|r| {
        let p = r.relay.as_ref()?.closed.as_ref()?;
        let bound = if p.cpu.loadgen > 0.9 { " *" } else { "" };
        Some(format!("{:.0}{bound}", p.rate()))
    });
    row("closed loop: p50 / p99 / max ms", &|r| {
        Some(latency(&r.relay.as_ref()?.closed.as_ref()?.latency))
    });
    row("closed loop: CPU server/loadgen/other", &|r| {
        Some(cpu(r.relay.as_ref()?.closed.as_ref()?))
    });
    row("closed loop: server CPU µs per msg", &|r| {
        r.relay
            .as_ref()?
            .closed
            .as_ref()?
            .server_us_per_msg()
            .map(|us| format!("{us:.1}"))
    });
    row("  of which user / kernel µs", &|r| {
        let p = r.relay.as_ref()?.closed.as_ref()?;
        let all = p.server_us_per_msg()?;
        let kernel = p.server_kernel_us_per_msg().unwrap_or(0.0);
        Some(format!("{:.1} / {kernel:.1}", all - kernel))
    });
    let rates: Vec<u64> = results
        .iter()
        .filter_map(|r| r.relay.as_ref())
        .flat_map(|x| x.open.iter().map(|(rate, _)| *rate))
        .fold(Vec::new(), |mut v, r| {
            if !v.contains(&r) {
                v.push(r);
            }
            v
        });
    for rate in rates {
        fn open_phase(r: &TargetResult, rate: u64) -> Option<&PhaseResult> {
            r.relay.as_ref()?.open.iter().find(|(x, _)| *x == rate).map(|(_, p)| p)
        }
        row(&format!("open {rate}/s: sent / recv / lost"), &|r| {
            open_phase(r, rate).map(|p| format!("{} / {} / {}", p.sent, p.received, p.lost()))
        });
        row(&format!("open {rate}/s: p50 / p99 / max ms"), &|r| {
            open_phase(r, rate).map(|p| {
                let bound = if p.cpu.loadgen > 0.9 { " *" } else { "" };
                format!("{}{bound}", latency(&p.latency))
            })
        });
        row(&format!("open {rate}/s: CPU server/loadgen/other"), &|r| {
            open_phase(r, rate).map(cpu)
        });
        row(&format!("open {rate}/s: send lag p99 ms"), &|r| {
            open_phase(r, rate)
                .filter(|p| !p.send_lag.is_empty())
                .map(|p| format!("{:.2}", ms(&p.send_lag, 0.99)))
        });
    }

    let label_w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 2;
    let col_w = results
        .iter()
        .map(|r| r.target.label().len())
        .chain(rows.iter().flat_map(|(_, c)| c.iter().map(String::len)))
        .max()
        .unwrap_or(10)
        + 2;
    println!();
    println!(
        "signal-load: servers on core {}, load generator on core {}{}",
        args.server_core,
        args.client_core,
        if args.no_pin { " (pinning off)" } else { "" }
    );
    print!("{:label_w$}", "");
    for r in results {
        print!("{:>col_w$}", r.target.label());
    }
    println!();
    println!("{}", "-".repeat(label_w + col_w * results.len()));
    for (label, cells) in &rows {
        print!("{label:label_w$}");
        for c in cells {
            print!("{c:>col_w$}");
        }
        println!();
    }
    println!("latencies are one hop (sender → server → receiver), from the scheduled send time in open loop;");
    println!("CPU in % of one core; 'other' is everything else on the machine meanwhile (noise if not ~0%)");
    if rows.iter().any(|(_, c)| c.iter().any(|c| c.ends_with(" *"))) {
        println!("* the load generator was above 90% CPU: the figure may show its limit, not the server's");
    }

    // Goals for parley-signal.
    let peerserver = results
        .iter()
        .find(|r| r.target == Target::Peerserver)
        .and_then(|r| r.relay.as_ref()?.closed.as_ref());
    let base_rate = peerserver.map_or(REFERENCE_PEERSERVER_RATE, PhaseResult::rate);
    let mut goals = Vec::new();
    // The goals are a single server's; two nodes are measured for what crossing Redis costs.
    for r in results
        .iter()
        .filter(|r| !matches!(r.target, Target::Peerserver | Target::ParleyCluster))
    {
        let name = r.target.label();
        if let Some(p) = r.relay.as_ref().and_then(|x| x.closed.as_ref()) {
            let x = p.rate() / base_rate;
            let of = match peerserver {
                Some(_) => format!("PeerServer's {base_rate:.0}/s"),
                None => "the 13.5k/s reference".to_string(),
            };
            goals.push(format!(
                "{name}: saturated relay {:.0}/s = {x:.1}x {of} (goal >= 5x): {}",
                p.rate(),
                verdict(x >= 5.0)
            ));
            if let (Some(ours), Some(theirs)) = (
                p.server_us_per_msg(),
                peerserver.and_then(PhaseResult::server_us_per_msg),
            ) {
                let y = theirs / ours;
                goals.push(format!(
                    "{name}: server CPU per relayed message {ours:.1} µs vs {theirs:.1} µs = {y:.1}x less \
                     (the same goal, free of load-generator limits): {}",
                    verdict(y >= 5.0)
                ));
                if let Some(kernel) = p.server_kernel_us_per_msg() {
                    goals.push(format!(
                        "{name}:   its kernel time alone is {kernel:.1} µs per message (loopback TCP \
                         send + receive), so no user-space work at all would make it {:.1}x",
                        theirs / kernel
                    ));
                }
            }
        }
        if let Some((_, p)) = r
            .relay
            .as_ref()
            .and_then(|x| x.open.iter().find(|(rate, _)| *rate == 10_000))
        {
            let p99 = ms(&p.latency, 0.99);
            goals.push(format!(
                "{name}: p99 at 10000/s {p99:.2} ms, {} lost (goal < 5 ms): {}",
                p.lost(),
                verdict(p99 < 5.0 && p.lost() == 0)
            ));
        }
        if let Some(k) = r.idle.as_ref().and_then(|i| i.kib_per_client()) {
            goals.push(format!(
                "{name}: {k:.2} KiB per idle client (goal < 3): {}",
                verdict(k < 3.0)
            ));
        }
    }
    if !goals.is_empty() {
        println!();
        println!("goals:");
        for g in goals {
            println!("  {g}");
        }
    }
    let notes: Vec<String> = results
        .iter()
        .flat_map(|r| r.errors.iter().map(move |e| format!("{}: {e}", r.target.label())))
        .collect();
    if !notes.is_empty() {
        println!();
        println!("notes:");
        for n in notes {
            let short: String = n.chars().take(300).collect();
            println!("  {short}");
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
