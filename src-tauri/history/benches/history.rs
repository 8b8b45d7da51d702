//! History at scale: insert rate, opening a conversation, deep paging and full-text search over
//! a generated history of a million messages (a made-up vocabulary with English's word-frequency
//! shape, across ~200 conversations of uneven size).
//!
//! Every measurement runs twice, on a plaintext database and on one encrypted as the app keeps it
//! (SQLCipher, a raw 256-bit key), so the cost of encryption reads off side by side
//! (`PARLEY_BENCH_MODES=encrypted` for one of them).
//!
//! `cargo bench -p parley-history --bench history`. The generated databases are cached next to
//! the build output and reused; set `PARLEY_BENCH_REGENERATE=1` to rebuild them (and so measure
//! the bulk insert rate again) and `PARLEY_BENCH_MESSAGES=N` for another size.

// A benchmark prints its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parley_history::{Cursor, History, HistoryKey, NewMessage};
use parley_signal::test_utils::bench::{is_real_run, runtime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DEFAULT_MESSAGES: usize = 1_000_000;
const SMOKE_MESSAGES: usize = 20_000;
const CONVERSATIONS: usize = 200;
/// Generation is setup, not the measurement: big transactions make it quick.
const GENERATION_BATCH: usize = 10_000;
const PAGE: usize = 50;
const SEARCH_LIMIT: usize = 50;
const ME: &str = "me";

/// Everyday chat words, most frequent first; the rest of the vocabulary is synthetic.
const COMMON: &str = "the i you to a and it is that of in what for me my on we this do have be
    just not so are no but with was can your at like all if know get ok yes go will how its now
    about there one up out dont im they think time good when see then here from got well would
    today tomorrow meeting tonight call back work lunch dinner later thanks sure maybe need want
    let us come going right really did make some want more much been should could them over
    still new first last week day night morning home meet soon great love sorry please yeah
    okay haha lol nice cool fine take look tell say said thing things people way because
    something anything nothing everyone before after again also very too only even never always
    where who why which than into their our any other send sent message phone email file photo
    picture video link check read write project deadline report draft review team office
    weekend friday monday saturday sunday train bus car flight hotel trip coffee tea beer party
    birthday game movie music song book news weather rain sun cold hot late early busy free
    happy tired sick hello hi hey bye goodnight welcome congrats cheers agree idea plan
    question answer problem help fix update version release bug test build code server
    password account login price money pay buy shop order delivery package address city street
    café naïve résumé jalapeño crème façade déjà piñata zürich über señor garçon fiancée";

const SYLLABLES: &[&str] = &[
    "ka", "lo", "min", "ter", "vi", "sa", "ron", "del", "mar", "qu", "ens", "tol", "bri", "ga", "pel", "zu", "or",
    "nix", "ha", "wen", "do", "ric", "sel", "fa", "mo", "ly", "chu", "ast", "pre", "vo", "tin", "lex", "bo", "ra",
    "kin", "sto", "ule", "jo", "ne", "wa",
];

struct Corpus {
    words: Vec<String>,
    /// Cumulative Zipf weights over `words`.
    cumulative: Vec<f64>,
}

impl Corpus {
    fn new(rng: &mut StdRng) -> Corpus {
        let mut words: Vec<String> = COMMON.split_whitespace().map(str::to_owned).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < 40_000 {
            let n = rng.gen_range(2..=4);
            let word: String = (0..n).map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())]).collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (0..words.len())
            .map(|rank| {
                total += 1.0 / (rank as f64 + 2.7);
                total
            })
            .collect();
        Corpus { words, cumulative }
    }

    fn word(&self, rng: &mut StdRng) -> &str {
        let x = rng.gen::<f64>() * self.cumulative.last().unwrap();
        &self.words[self.cumulative.partition_point(|c| *c < x).min(self.words.len() - 1)]
    }

    fn sentence(&self, rng: &mut StdRng) -> String {
        let len = if rng.gen_bool(0.1) {
            rng.gen_range(20..60)
        } else {
            rng.gen_range(2..16)
        };
        let mut s = String::with_capacity(len * 6);
        for i in 0..len {
            if i > 0 {
                s.push(if rng.gen_bool(0.06) { ',' } else { ' ' });
                if s.ends_with(',') {
                    s.push(' ');
                }
            }
            let word = self.word(rng);
            if i == 0 {
                let mut chars = word.chars();
                s.extend(chars.next().into_iter().flat_map(char::to_uppercase));
                s.push_str(chars.as_str());
            } else {
                s.push_str(word);
            }
        }
        s.push_str([".", "?", "!", ".", " :)"][rng.gen_range(0..5)]);
        s
    }
}

/// Conversation sizes are skewed like real ones: a few busy chats, a long tail of quiet ones.
fn pick_conversation(rng: &mut StdRng) -> usize {
    let x: f64 = rng.gen();
    ((x * x) * CONVERSATIONS as f64) as usize
}

fn conversation_id(i: usize) -> String {
    format!("user-{i:03}")
}

struct Stats(Vec<Duration>);

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort_unstable();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }

    fn line(&self, what: &str) {
        println!(
            "  {what:<48} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  (n={})",
            ms(self.pct(0.5)),
            ms(self.pct(0.99)),
            ms(self.pct(1.0)),
            self.0.len()
        );
    }
}

/// This process's CPU time so far: the build machine is shared, so wall time alone can mislead.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    Duration::from_millis(ticks * 10)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn timed<T, F: std::future::Future<Output = T>>(samples: &mut Vec<Duration>, f: F) -> T {
    let start = Instant::now();
    let out = f.await;
    samples.push(start.elapsed());
    out
}

fn file_size(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn random_message(corpus: &Corpus, rng: &mut StdRng, clock: &mut i64) -> NewMessage {
    *clock += rng.gen_range(1..120_000);
    let conv = conversation_id(pick_conversation(rng));
    // Random like real sender-chosen ids, so the unique index sees scattered inserts.
    let id = format!("{:032x}", rng.gen::<u128>());
    let body = corpus.sentence(rng);
    if rng.gen_bool(0.5) {
        NewMessage::outgoing(&conv, &id, ME, &body, *clock)
    } else {
        NewMessage::incoming(&conv, &id, &conv, &body, *clock - 300, *clock)
    }
}

/// Removes what a measurement added, so the cached database stays at its nominal size.
fn delete_after(db: &Db, seq: i64) {
    let conn = db.raw();
    conn.execute("DELETE FROM messages WHERE seq > ?1", [seq]).unwrap();
}

async fn newest_seq(h: &History) -> i64 {
    let mut newest = 0;
    for c in 0..CONVERSATIONS {
        let page = h.page(&conversation_id(c), None, 1).await.unwrap();
        newest = newest.max(page.messages.first().map_or(0, |m| m.seq));
    }
    newest
}

/// Batches the size the chat layer sees when a peer flushes its outbox or history syncs.
async fn batched_inserts(h: &History, db: &Db, corpus: &Corpus, rng: &mut StdRng) {
    println!("batched inserts on top of the full history (insert_many):");
    let mut clock = 1_700_000_000_000i64;
    // Enough batches to include the index merges that inserts pay for now and then.
    for (size, batches) in [(1_000, 100), (100, 300)] {
        let before = newest_seq(h).await;
        let mut samples = Vec::new();
        for _ in 0..batches {
            let batch: Vec<NewMessage> = (0..size).map(|_| random_message(corpus, rng, &mut clock)).collect();
            timed(&mut samples, h.insert_many(batch)).await.unwrap();
        }
        let total: Duration = samples.iter().sum();
        println!(
            "  {size:>5} per transaction: {:.0} messages/s",
            (size * batches) as f64 / total.as_secs_f64()
        );
        Stats(samples).line(&format!("latency per batch of {size}"));
        delete_after(db, before);
    }
}

async fn generate(db: &Db, total: usize, corpus: &Corpus, rng: &mut StdRng) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.path.display()));
    }
    let h = db.open();
    for c in 0..CONVERSATIONS {
        h.upsert_conversation(&conversation_id(c), &format!("Friend {c}"))
            .await
            .unwrap();
    }
    println!("generating {total} messages ...");
    let (mut text_time, mut insert_time) = (Duration::ZERO, Duration::ZERO);
    let cpu_start = cpu_time();
    let mut clock = 1_600_000_000_000i64;
    let mut done = 0;
    while done < total {
        let start = Instant::now();
        let n = GENERATION_BATCH.min(total - done);
        let batch: Vec<NewMessage> = (0..n).map(|_| random_message(corpus, rng, &mut clock)).collect();
        text_time += start.elapsed();
        let start = Instant::now();
        h.insert_many(batch).await.unwrap();
        insert_time += start.elapsed();
        done += n;
        if done % 200_000 == 0 {
            println!(
                "  {done} stored, {:.0} msg/s so far",
                done as f64 / insert_time.as_secs_f64()
            );
        }
    }
    let cpu = cpu_time() - cpu_start;
    println!(
        "  generated with insert_many, {GENERATION_BATCH}/transaction: {:.0} messages/s ({:.1} s for {total}; \
         text generation {:.1} s; process CPU {:.1} s in all)",
        total as f64 / insert_time.as_secs_f64(),
        insert_time.as_secs_f64(),
        text_time.as_secs_f64(),
        cpu.as_secs_f64()
    );
    drop(h);
    // An old history is mostly acknowledged and read; leave a realistic outbox and unread set.
    let start = Instant::now();
    let conn = db.raw();
    conn.execute_batch(
        "UPDATE messages SET state = 3 WHERE seq <= (SELECT MAX(seq) - 2000 FROM messages);
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    println!("  marked history read in {:.1} s", start.elapsed().as_secs_f64());
}

fn main() {
    // `cargo test --all-targets` runs benches too, without `--bench`: then do a small smoke run
    // that proves the bench still works without spending minutes on 1M messages.
    let smoke = !is_real_run();
    let total: usize = std::env::var("PARLEY_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { SMOKE_MESSAGES } else { DEFAULT_MESSAGES });
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("parley-history-bench");
    let modes = std::env::var("PARLEY_BENCH_MODES").unwrap_or_else(|_| "plaintext,encrypted".to_owned());
    let runtime = runtime();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at start: {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    // Bump when the schema or the generator changes, so a stale cached database is not reused.
    let version = format!("history-{total}-v5-");
    // Databases of earlier bench versions are 400 MB each: keep only the ones in use.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("history-") && !name.starts_with(&version) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for mode in modes.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let db = Db {
            path: dir.join(format!("{version}{mode}.sqlite3")),
            key: match mode {
                "plaintext" => None,
                "encrypted" => Some(HistoryKey::from_bytes([42; 32])),
                other => panic!("PARLEY_BENCH_MODES: {other:?} is neither plaintext nor encrypted"),
            },
        };
        println!("\n=== {mode} ===");
        // The same messages in every mode.
        let mut rng = StdRng::seed_from_u64(7);
        let corpus = Corpus::new(&mut rng);
        runtime.block_on(run(&db, total, &corpus, &mut rng));
    }
}

/// A database of the benchmark, plaintext or encrypted.
struct Db {
    path: PathBuf,
    key: Option<HistoryKey>,
}

impl Db {
    fn open(&self) -> History {
        std::fs::create_dir_all(self.path.parent().unwrap()).unwrap();
        match &self.key {
            Some(key) => History::open(&self.path, key),
            None => History::open_unencrypted(&self.path),
        }
        .unwrap()
    }

    /// A connection of the benchmark's own, for set-up behind the history's back.
    fn raw(&self) -> rusqlite::Connection {
        let conn = History::raw_connection(&self.path, self.key.as_ref()).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    }
}

async fn run(db: &Db, total: usize, corpus: &Corpus, rng: &mut StdRng) {
    let complete = db.path.with_extension("complete");
    if std::env::var_os("PARLEY_BENCH_REGENERATE").is_some() || !complete.exists() {
        let start = Instant::now();
        generate(db, total, corpus, rng).await;
        println!("  generation took {:.1} s in all", start.elapsed().as_secs_f64());
        std::fs::write(&complete, b"").unwrap();
    } else {
        println!("reusing {} (PARLEY_BENCH_REGENERATE=1 rebuilds it)", db.path.display());
    }
    println!("database: {:.0} MiB on disk", file_size(&db.path) as f64 / 1048576.0);

    let start = Instant::now();
    let h = db.open();
    println!("open existing history: {:.2} ms", ms(start.elapsed()));

    batched_inserts(&h, db, corpus, rng).await;
    single_inserts(&h, db).await;
    open_conversations(&h).await;
    deep_paging(&h).await;
    search(&h, corpus, rng).await;
}

/// The app's path for one message: one call, one transaction, one commit.
async fn single_inserts(h: &History, db: &Db) {
    const N: usize = 2_000;
    let before = newest_seq(h).await;
    let mut samples = Vec::with_capacity(N);
    let corpus_free = "a single message typed by hand, stored on its own";
    let start = Instant::now();
    for i in 0..N {
        let conv = conversation_id(i % CONVERSATIONS);
        let id = format!("single-{i}");
        if i % 2 == 0 {
            timed(&mut samples, h.insert_outgoing(&conv, &id, ME, corpus_free, 0))
                .await
                .unwrap();
        } else {
            timed(&mut samples, h.insert_incoming(&conv, &id, &conv, corpus_free, 0, 0))
                .await
                .unwrap();
        }
    }
    let elapsed = start.elapsed();
    println!("single-message inserts (insert_outgoing / insert_incoming, one transaction each):");
    println!("  {:.0} messages/s", N as f64 / elapsed.as_secs_f64());
    Stats(samples).line("latency per message");
    let mut samples = Vec::new();
    for i in 0..N {
        timed(
            &mut samples,
            h.advance_state(&format!("single-{i}"), parley_history::DeliveryState::Read),
        )
        .await
        .unwrap();
    }
    Stats(samples).line("advance_state");
    delete_after(db, before);
}

async fn open_conversations(h: &History) {
    println!("opening a conversation (latest page of {PAGE}):");
    let mut list = Vec::new();
    for _ in 0..20 {
        timed(&mut list, h.conversations()).await.unwrap();
    }
    let mut samples = Vec::new();
    for _ in 0..5 {
        for c in 0..CONVERSATIONS {
            let page = timed(&mut samples, h.page(&conversation_id(c), None, PAGE))
                .await
                .unwrap();
            assert!(!page.messages.is_empty());
        }
    }
    Stats(list).line(&format!("conversations() list of {CONVERSATIONS}"));
    Stats(samples).line("page(conversation, None, 50)");
}

async fn deep_paging(h: &History) {
    // Conversation sizes fall with their number: the first is the deepest one to scroll.
    let busiest = conversation_id(0);
    let mut samples = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut count = 0;
    let start = Instant::now();
    loop {
        let page = timed(&mut samples, h.page(&busiest, cursor, PAGE)).await.unwrap();
        count += page.messages.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let total = start.elapsed();
    let last = *samples.last().unwrap();
    println!(
        "paging deep ({busiest}, {count} messages, {} pages, {:.0} ms in all):",
        samples.len(),
        ms(total)
    );
    Stats(samples).line("each page of 50, newest to oldest");
    println!("  {:<48} {:>8.3} ms", "the oldest page", ms(last));
}

async fn search(h: &History, corpus: &Corpus, rng: &mut StdRng) {
    println!("full-text search (newest {SEARCH_LIMIT} hits, snippets included):");
    let common: Vec<String> = corpus.words[..20].to_vec();
    let medium: Vec<String> = corpus.words[300..320].to_vec();
    let rare: Vec<String> = (0..40)
        .map(|_| corpus.words[rng.gen_range(15_000..40_000)].clone())
        .collect();
    let prefix1: Vec<String> = ["t", "m", "w", "s", "k", "b"].iter().map(|s| s.to_string()).collect();
    let prefix2: Vec<String> = (0..20)
        .map(|_| prefix_of(&corpus.words[rng.gen_range(0..2_000)], 2))
        .collect();
    let prefix3: Vec<String> = (0..20)
        .map(|_| prefix_of(&corpus.words[rng.gen_range(0..40_000)], 3))
        .collect();
    let two_words: Vec<String> = (0..20)
        .map(|_| {
            format!(
                "{} {}",
                corpus.words[rng.gen_range(0..50)],
                corpus.words[rng.gen_range(0..3_000)]
            )
        })
        .collect();
    let typed: Vec<String> = (0..20)
        .flat_map(|_| {
            let w = corpus.words[rng.gen_range(100..20_000)].clone();
            (1..=w.chars().count()).map(move |n| prefix_of(&w, n))
        })
        .collect();
    let no_hits: Vec<String> = (0..20).map(|i| format!("zzqx{i}")).collect();

    for (name, queries) in [
        ("common words (top 20)", &common),
        ("mid-frequency words (rank 300-320)", &medium),
        ("rare words (rank 15k-40k)", &rare),
        ("no match", &no_hits),
        ("1-letter prefix", &prefix1),
        ("2-letter prefix", &prefix2),
        ("3-letter prefix", &prefix3),
        ("two words (common + any)", &two_words),
        ("typing a word letter by letter", &typed),
    ] {
        let mut samples = Vec::new();
        for _ in 0..3 {
            for q in queries.iter() {
                timed(&mut samples, h.search(q, SEARCH_LIMIT, None)).await.unwrap();
            }
        }
        Stats(samples).line(name);
    }

    let mut samples = Vec::new();
    for q in common.iter().chain(&rare).chain(&prefix2) {
        for c in [0, 10, 100, 199] {
            timed(&mut samples, h.search_in(&conversation_id(c), q, SEARCH_LIMIT, None))
                .await
                .unwrap();
        }
    }
    Stats(samples).line("within one conversation (common, rare, prefix)");

    // Scrolling a common word's results ten pages deep.
    let mut samples = Vec::new();
    for q in &common[..5] {
        let mut cursor = None;
        for _ in 0..10 {
            let hits = timed(&mut samples, h.search(q, SEARCH_LIMIT, cursor)).await.unwrap();
            cursor = hits.last().map(|hit| hit.message.cursor());
        }
    }
    Stats(samples).line("next pages of a common word's results");
}

fn prefix_of(word: &str, chars: usize) -> String {
    word.chars().take(chars).collect()
}
