//! The on-device history, through its public API only.

use std::time::Duration;

use parley_history::{
    Cursor, DeliveryState, Direction, History, HistoryError, HistoryKey, InsertOutcome, Message, NewMessage,
    SNIPPET_MATCH_END, SNIPPET_MATCH_START,
};

fn test_key() -> HistoryKey {
    HistoryKey::from_bytes([7; 32])
}

const ME: &str = "user-me";

async fn incoming(h: &History, conv: &str, id: &str, body: &str) -> Message {
    match h.insert_incoming(conv, id, conv, body, 1_000, 2_000).await.unwrap() {
        InsertOutcome::Inserted(m) => m,
        InsertOutcome::Duplicate(m) => panic!("unexpected duplicate {m:?}"),
    }
}

async fn outgoing(h: &History, conv: &str, id: &str, body: &str) -> Message {
    h.insert_outgoing(conv, id, ME, body, 1_000).await.unwrap()
}

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

async fn search_ids(h: &History, query: &str) -> Vec<String> {
    h.search(query, 100, None)
        .await
        .unwrap()
        .into_iter()
        .map(|hit| hit.message.id)
        .collect()
}

#[test]
fn history_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<History>();
}

#[tokio::test]
async fn everything_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles/alice/history.sqlite3");
    {
        let h = History::open(&path, &test_key()).unwrap();
        h.upsert_conversation("bob", "Bob").await.unwrap();
        outgoing(&h, "bob", "o1", "first question").await;
        outgoing(&h, "bob", "o2", "second question").await;
        incoming(&h, "bob", "i1", "an answer about the café").await;
        h.advance_state("o1", DeliveryState::Delivered).await.unwrap().unwrap();
    }
    assert!(path.exists());
    // A clean close folds the write-ahead log into the database, so the next start has nothing to replay.
    assert!(!path.with_extension("sqlite3-wal").exists(), "WAL left behind");

    let h = History::open(&path, &test_key()).unwrap();
    let conversations = h.conversations().await.unwrap();
    assert_eq!(conversations.len(), 1);
    let bob = &conversations[0];
    assert_eq!((bob.id.as_str(), bob.title.as_str(), bob.unread), ("bob", "Bob", 1));
    assert_eq!(bob.last_message.as_ref().unwrap().id, "i1");

    let page = h.page("bob", None, 10).await.unwrap();
    assert_eq!(ids(&page.messages), ["i1", "o2", "o1"]);
    assert_eq!(page.next, None);
    assert_eq!(page.messages[2].state, DeliveryState::Delivered);
    assert_eq!(page.messages[1].state, DeliveryState::Pending);
    assert_eq!(page.messages[0].state, DeliveryState::Received);
    assert_eq!(page.messages[0].received_at, Some(2_000));
    assert_eq!(page.messages[0].direction, Direction::Incoming);

    assert_eq!(ids(&h.unacknowledged_outgoing(None).await.unwrap()), ["o2"]);
    // Search is served by the local index alone: nothing here can reach a network.
    assert_eq!(search_ids(&h, "cafe").await, ["i1"]);
    assert_eq!(search_ids(&h, "quest").await, ["o2", "o1"]);

    // Ids stay unique across sessions, which is what makes resends harmless.
    let again = h
        .insert_incoming("bob", "i1", "bob", "an answer about the café", 1_000, 9_000)
        .await
        .unwrap();
    assert!(matches!(again, InsertOutcome::Duplicate(ref m) if m.received_at == Some(2_000)));
    assert!(matches!(
        h.insert_outgoing("bob", "o1", ME, "again", 5).await,
        Err(HistoryError::DuplicateId(id)) if id == "o1"
    ));
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    drop(History::open(&path, &test_key()).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", test_key().to_hex()))
        .unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        History::open(&path, &test_key()),
        Err(HistoryError::UnsupportedSchema { found: 99, .. })
    ));
}

#[tokio::test]
async fn duplicate_incoming_messages_are_stored_once() {
    let h = History::open_in_memory().unwrap();
    let first = incoming(&h, "bob", "m1", "original").await;
    // A resend, even with a different body or timestamps, is the same message.
    let resend = h.insert_incoming("bob", "m1", "bob", "tampered", 7, 8).await.unwrap();
    assert_eq!(resend, InsertOutcome::Duplicate(first.clone()));

    let batch = vec![
        NewMessage::incoming("bob", "m2", "bob", "two", 1, 2),
        NewMessage::incoming("bob", "m1", "bob", "original", 1, 2),
        NewMessage::incoming("bob", "m2", "bob", "two", 1, 2),
    ];
    let outcomes = h.insert_many(batch).await.unwrap();
    assert_eq!(
        outcomes.iter().map(InsertOutcome::is_inserted).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert_eq!(outcomes[2].message(), outcomes[0].message());

    let page = h.page("bob", None, 10).await.unwrap();
    assert_eq!(ids(&page.messages), ["m2", "m1"]);
    assert_eq!(page.messages[1].body, "original");
    assert_eq!(h.conversation("bob").await.unwrap().unwrap().unread, 2);
    assert_eq!(search_ids(&h, "tampered").await, Vec::<String>::new());
}

#[tokio::test]
async fn delivery_state_only_moves_forward() {
    let h = History::open_in_memory().unwrap();
    let o = outgoing(&h, "bob", "o", "hi").await;
    assert_eq!(o.state, DeliveryState::Pending);

    let sent = h.advance_state("o", DeliveryState::Sent).await.unwrap().unwrap();
    assert_eq!(sent.state, DeliveryState::Sent);
    assert_eq!(
        h.advance_state("o", DeliveryState::Sent).await.unwrap(),
        None,
        "same state is no change"
    );
    let delivered = h.advance_state("o", DeliveryState::Delivered).await.unwrap().unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(
        h.advance_state("o", DeliveryState::Sent).await.unwrap(),
        None,
        "late sent after delivered"
    );
    assert_eq!(h.advance_state("o", DeliveryState::Pending).await.unwrap(), None);
    assert_eq!(
        h.advance_state("o", DeliveryState::Received).await.unwrap(),
        None,
        "incoming-only state"
    );
    assert_eq!(h.message("o").await.unwrap().unwrap().state, DeliveryState::Delivered);
    assert_eq!(
        h.advance_state("o", DeliveryState::Read).await.unwrap().unwrap().state,
        DeliveryState::Read
    );
    assert_eq!(h.advance_state("o", DeliveryState::Delivered).await.unwrap(), None);

    // Skipping steps is fine: a "read" receipt can overtake the "delivered" one.
    outgoing(&h, "bob", "o2", "hey").await;
    assert_eq!(
        h.advance_state("o2", DeliveryState::Read).await.unwrap().unwrap().state,
        DeliveryState::Read
    );

    let i = incoming(&h, "bob", "i", "yo").await;
    assert_eq!(i.state, DeliveryState::Received);
    for wrong in [
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Received,
    ] {
        assert_eq!(
            h.advance_state("i", wrong).await.unwrap(),
            None,
            "{wrong} on an incoming message"
        );
    }
    assert_eq!(
        h.advance_state("i", DeliveryState::Read).await.unwrap().unwrap().state,
        DeliveryState::Read
    );
    assert_eq!(h.advance_state("nope", DeliveryState::Read).await.unwrap(), None);
}

#[tokio::test]
async fn insert_titled_stores_the_message_and_names_its_conversation_in_one_go() {
    let h = History::open_in_memory().unwrap();
    let new = NewMessage::outgoing("bob", "o1", ME, "hi", 1_000);
    let stored = h.insert_titled(new, "Bob").await.unwrap();
    assert!(stored.is_inserted());
    assert_eq!(stored.message().state, DeliveryState::Pending);
    let conversation = h.conversation("bob").await.unwrap().unwrap();
    assert_eq!(conversation.title, "Bob");
    assert_eq!(conversation.last_message.unwrap().id, "o1");

    // Renamed along with the next message; a resent one is a duplicate, stored once.
    let incoming = NewMessage::incoming("bob", "i1", "bob", "hello", 1_000, 2_000);
    assert!(h.insert_titled(incoming.clone(), "Bobby").await.unwrap().is_inserted());
    match h.insert_titled(incoming, "Bobby").await.unwrap() {
        InsertOutcome::Duplicate(m) => assert_eq!(m.body, "hello"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let conversation = h.conversation("bob").await.unwrap().unwrap();
    assert_eq!(conversation.title, "Bobby");
    assert_eq!(conversation.unread, 1);
    assert_eq!(h.page("bob", None, 10).await.unwrap().messages.len(), 2);
}

#[tokio::test]
async fn insert_outgoing_titled_tells_whether_older_messages_still_wait() {
    let h = History::open_in_memory().unwrap();
    let send = |id: &str, conv: &str| NewMessage::outgoing(conv, id, ME, "x", 1_000);
    let (first, alone) = h.insert_outgoing_titled(send("o1", "bob"), "Bob").await.unwrap();
    assert!(alone);
    assert_eq!(first.state, DeliveryState::Pending);
    // o1 was never handed over: o2 is not alone. Other conversations do not count.
    assert!(!h.insert_outgoing_titled(send("o2", "bob"), "Bob").await.unwrap().1);
    assert!(h.insert_outgoing_titled(send("c1", "carol"), "Carol").await.unwrap().1);
    // Handed over (Sent) or acknowledged messages are not waiting.
    h.advance_state("o1", DeliveryState::Sent).await.unwrap().unwrap();
    h.advance_state("o2", DeliveryState::Delivered).await.unwrap().unwrap();
    assert!(h.insert_outgoing_titled(send("o3", "bob"), "Bob").await.unwrap().1);
    assert!(matches!(
        h.insert_outgoing_titled(send("o3", "bob"), "Bob").await,
        Err(HistoryError::DuplicateId(id)) if id == "o3"
    ));
    assert_eq!(h.conversation("bob").await.unwrap().unwrap().title, "Bob");
}

#[tokio::test]
async fn advance_outgoing_state_only_moves_our_messages_in_that_conversation() {
    let h = History::open_in_memory().unwrap();
    outgoing(&h, "bob", "to-bob", "x").await;
    outgoing(&h, "carol", "to-carol", "x").await;
    incoming(&h, "bob", "from-bob", "x").await;
    // Carol cannot acknowledge bob's message, nor bob his own.
    assert_eq!(
        h.advance_outgoing_state("carol", "to-bob", DeliveryState::Delivered)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        h.advance_outgoing_state("bob", "from-bob", DeliveryState::Read)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        h.advance_outgoing_state("bob", "nope", DeliveryState::Read)
            .await
            .unwrap(),
        None
    );
    let delivered = h
        .advance_outgoing_state("bob", "to-bob", DeliveryState::Delivered)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    // Still only forward.
    assert_eq!(
        h.advance_outgoing_state("bob", "to-bob", DeliveryState::Sent)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        h.message("from-bob").await.unwrap().unwrap().state,
        DeliveryState::Received
    );
    assert_eq!(
        h.message("to-carol").await.unwrap().unwrap().state,
        DeliveryState::Pending
    );
}

#[tokio::test]
async fn the_outbox_holds_undelivered_outgoing_messages_oldest_first() {
    let h = History::open_in_memory().unwrap();
    outgoing(&h, "bob", "b1", "1").await;
    outgoing(&h, "carol", "c1", "2").await;
    incoming(&h, "bob", "bi", "3").await;
    outgoing(&h, "bob", "b2", "4").await;
    outgoing(&h, "carol", "c2", "5").await;
    outgoing(&h, "bob", "b3", "6").await;

    h.advance_state("b2", DeliveryState::Sent).await.unwrap().unwrap();
    h.advance_state("c1", DeliveryState::Delivered).await.unwrap().unwrap();
    h.advance_state("b3", DeliveryState::Read).await.unwrap().unwrap();

    let all = h.unacknowledged_outgoing(None).await.unwrap();
    assert_eq!(ids(&all), ["b1", "b2", "c2"]);
    assert_eq!(all[1].state, DeliveryState::Sent);
    assert_eq!(
        ids(&h.unacknowledged_outgoing(Some("bob")).await.unwrap()),
        ["b1", "b2"]
    );
    assert_eq!(ids(&h.unacknowledged_outgoing(Some("carol")).await.unwrap()), ["c2"]);
    assert!(h.unacknowledged_outgoing(Some("dave")).await.unwrap().is_empty());

    h.advance_state("b1", DeliveryState::Delivered).await.unwrap().unwrap();
    assert_eq!(ids(&h.unacknowledged_outgoing(Some("bob")).await.unwrap()), ["b2"]);
}

#[tokio::test]
async fn marking_read_resets_unread_and_returns_ids_for_receipts() {
    let h = History::open_in_memory().unwrap();
    incoming(&h, "bob", "b1", "1").await;
    outgoing(&h, "bob", "mine", "2").await;
    incoming(&h, "bob", "b2", "3").await;
    incoming(&h, "carol", "c1", "4").await;
    incoming(&h, "bob", "b3", "5").await;
    h.advance_state("b2", DeliveryState::Read).await.unwrap().unwrap();

    let unread = |h: History, id: &'static str| async move { h.conversation(id).await.unwrap().unwrap().unread };
    assert_eq!(unread(h.clone(), "bob").await, 2);
    assert_eq!(unread(h.clone(), "carol").await, 1);

    assert_eq!(h.mark_conversation_read("bob").await.unwrap(), ["b1", "b3"]);
    assert_eq!(unread(h.clone(), "bob").await, 0);
    assert_eq!(unread(h.clone(), "carol").await, 1);
    assert!(h.mark_conversation_read("bob").await.unwrap().is_empty());
    assert_eq!(h.message("b3").await.unwrap().unwrap().state, DeliveryState::Read);
    assert_eq!(
        h.message("mine").await.unwrap().unwrap().state,
        DeliveryState::Pending,
        "outgoing untouched"
    );
    assert!(h.mark_conversation_read("nobody").await.unwrap().is_empty());

    incoming(&h, "bob", "b4", "6").await;
    assert_eq!(unread(h.clone(), "bob").await, 1);
}

#[tokio::test]
async fn conversations_are_listed_by_latest_activity() {
    let h = History::open_in_memory().unwrap();
    h.upsert_conversation("bob", "Bob").await.unwrap();
    incoming(&h, "carol", "c1", "hello").await;
    outgoing(&h, "bob", "b1", "hi bob").await;
    let list = h.conversations().await.unwrap();
    assert_eq!(list.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["bob", "carol"]);
    assert_eq!(list[1].title, "carol", "unnamed conversations are titled by user id");
    assert_eq!(list[0].last_message.as_ref().unwrap().body, "hi bob");

    tokio::time::sleep(Duration::from_millis(5)).await;
    h.upsert_conversation("dave", "Dave").await.unwrap();
    // Renaming is not activity.
    h.upsert_conversation("carol", "Carol").await.unwrap();
    let list = h.conversations().await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["dave", "bob", "carol"]
    );
    assert_eq!(list[2].title, "Carol");
    assert_eq!(list[0].last_message, None);

    tokio::time::sleep(Duration::from_millis(5)).await;
    incoming(&h, "carol", "c2", "again").await;
    let list = h.conversations().await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["carol", "dave", "bob"]
    );
}

#[tokio::test]
async fn pages_walk_every_message_once_in_order_despite_concurrent_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let h = History::open(&dir.path().join("h.sqlite3"), &test_key()).unwrap();
    let batch: Vec<NewMessage> = (0..1000)
        .flat_map(|i| {
            [
                NewMessage::incoming("bob", &format!("b{i}"), "bob", &format!("message {i}"), i, i),
                NewMessage::outgoing("carol", &format!("c{i}"), ME, "noise", i),
            ]
        })
        .collect();
    h.insert_many(batch).await.unwrap();
    let existing: Vec<String> = (0..1000).rev().map(|i| format!("b{i}")).collect();

    let writer = {
        let h = h.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                h.insert_incoming("bob", &format!("new{i}"), "bob", "late", 0, 0)
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };

    let (mut seen, mut cursor, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = h.page("bob", cursor, 37).await.unwrap();
        assert!(page.messages.len() <= 37);
        assert!(page.messages.iter().all(|m| m.conversation_id == "bob"));
        pages += 1;
        // The first page may include the concurrent inserts; later pages must not.
        seen.extend(
            page.messages
                .into_iter()
                .filter(|m| !m.id.starts_with("new") && !m.id.starts_with("step")),
        );
        // Besides the writer task, insert between every two pages, so interleaving is certain.
        h.insert_incoming("bob", &format!("step{pages}"), "bob", "between pages", 0, 0)
            .await
            .unwrap();
        match page.next {
            Some(next) => {
                // Round-trip the cursor the way the UI would.
                let json = serde_json::to_string(&next).unwrap();
                cursor = Some(serde_json::from_str::<Cursor>(&json).unwrap());
            }
            None => break,
        }
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();

    assert!(seen.windows(2).all(|w| w[0].seq > w[1].seq), "strictly newest first");
    assert_eq!(seen.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), existing);
    assert!(pages >= 1000 / 37);

    // Limits are clamped rather than looping forever on zero.
    assert_eq!(h.page("bob", None, 0).await.unwrap().messages.len(), 1);
    assert!(h.page("nobody", None, 10).await.unwrap().messages.is_empty());
    assert_eq!(h.page("bob", None, 10).await.unwrap().messages[0].id, "new299");
}

#[test]
fn cursors_round_trip_as_strings_and_reject_garbage() {
    let cursor: Cursor = serde_json::from_str("\"s42\"").unwrap();
    assert_eq!(serde_json::to_string(&cursor).unwrap(), "\"s42\"");
    assert_eq!(cursor.to_string().parse::<Cursor>().unwrap(), cursor);
    for bad in ["\"42\"", "\"s\"", "\"s-1\"", "\"sx\"", "42", "null"] {
        assert!(serde_json::from_str::<Cursor>(bad).is_err(), "{bad}");
    }
    assert_eq!(
        serde_json::to_string(&DeliveryState::Delivered).unwrap(),
        "\"delivered\""
    );
    assert_eq!(serde_json::to_string(&Direction::Incoming).unwrap(), "\"incoming\"");
}

async fn search_fixture() -> History {
    let h = History::open_in_memory().unwrap();
    let bodies = [
        ("s1", "bob", "Hello there, how are you?"),
        ("s2", "carol", "Meet me at the Café de Flore"),
        ("s3", "bob", "My résumé is attached"),
        ("s4", "carol", "helicopter tour tomorrow"),
        ("s5", "bob", "hello again"),
        ("s6", "carol", r#"she said "quoted" AND(stuff) NEAR the * star"#),
        ("s7", "bob", "Straße in München; naïve coöperation"),
    ];
    for (id, conv, body) in bodies {
        incoming(&h, conv, id, body).await;
    }
    h
}

#[tokio::test]
async fn search_finds_prefixes_ignores_case_and_diacritics_newest_first() {
    let h = search_fixture().await;
    assert_eq!(search_ids(&h, "hello").await, ["s5", "s1"]);
    assert_eq!(
        search_ids(&h, "hel").await,
        ["s5", "s4", "s1"],
        "prefix as the user types"
    );
    assert_eq!(search_ids(&h, "h").await, ["s5", "s4", "s1"]);
    assert_eq!(
        search_ids(&h, "hel ").await,
        Vec::<String>::new(),
        "a trailing space completes the word"
    );
    assert_eq!(search_ids(&h, "HELLO AGAIN").await, ["s5"]);
    assert_eq!(
        search_ids(&h, "hello tour").await,
        Vec::<String>::new(),
        "all words must match"
    );
    assert_eq!(search_ids(&h, "cafe").await, ["s2"]);
    assert_eq!(search_ids(&h, "CAFÉ").await, ["s2"]);
    assert_eq!(search_ids(&h, "resume").await, ["s3"]);
    assert_eq!(search_ids(&h, "munch").await, ["s7"]);
    assert_eq!(search_ids(&h, "naive cooperation").await, ["s7"]);

    // Paging through results with a cursor, and within one conversation.
    let first = h.search("hel", 2, None).await.unwrap();
    assert_eq!(
        first.iter().map(|hit| hit.message.id.as_str()).collect::<Vec<_>>(),
        ["s5", "s4"]
    );
    let rest = h.search("hel", 2, Some(first[1].message.cursor())).await.unwrap();
    assert_eq!(
        rest.iter().map(|hit| hit.message.id.as_str()).collect::<Vec<_>>(),
        ["s1"]
    );
    let bob = h.search_in("bob", "hel", 10, None).await.unwrap();
    assert_eq!(
        bob.iter().map(|hit| hit.message.id.as_str()).collect::<Vec<_>>(),
        ["s5", "s1"]
    );
    assert!(h.search_in("nobody", "hel", 10, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn conversation_filters_work_for_any_id_and_never_match_user_words() {
    let h = search_fixture().await;
    let odd = "wéird \"id\" AND( *";
    incoming(&h, odd, "w1", "hello from an odd id").await;
    incoming(&h, "bo", "x1", "hello from a prefix of bob").await;
    let in_odd = h.search_in(odd, "hello", 10, None).await.unwrap();
    assert_eq!(
        in_odd.iter().map(|hit| hit.message.id.as_str()).collect::<Vec<_>>(),
        ["w1"]
    );
    let in_bo = h.search_in("bo", "hel", 10, None).await.unwrap();
    assert_eq!(
        in_bo.iter().map(|hit| hit.message.id.as_str()).collect::<Vec<_>>(),
        ["x1"]
    );
    // How conversations are indexed ("c" + hex of the id) must not leak into what words match.
    for leak in ["c626F62", "c626f62 ", "c6"] {
        assert_eq!(search_ids(&h, leak).await, Vec::<String>::new(), "{leak}");
    }
    assert_eq!(search_ids(&h, "c").await, ["s7", "s2"], "only coöperation and Café");
}

#[tokio::test]
async fn snippets_mark_the_matched_words() {
    let h = search_fixture().await;
    let hits = h.search("cafe", 10, None).await.unwrap();
    assert_eq!(
        hits[0].snippet,
        format!("Meet me at the {SNIPPET_MATCH_START}Café{SNIPPET_MATCH_END} de Flore")
    );
    let hits = h.search("hello th", 10, None).await.unwrap();
    assert_eq!(
        hits[0].snippet,
        format!(
            "{SNIPPET_MATCH_START}Hello{SNIPPET_MATCH_END} {SNIPPET_MATCH_START}there{SNIPPET_MATCH_END}, how are you?"
        )
    );
}

#[tokio::test]
async fn any_query_string_is_valid_and_operators_are_plain_words() {
    let h = search_fixture().await;
    let hostile = [
        "\"",
        "\"\"",
        "'",
        "AND(",
        "AND",
        "OR",
        "NOT",
        "*",
        "**",
        "NEAR",
        "NEAR(",
        "NEAR(hello there, 1)",
        "'; DROP TABLE messages; --",
        "body:hello",
        "{body}: hello",
        "^hello",
        "-hello",
        "+",
        "hello\"",
        "(((((((",
        ")",
        "a\0b",
        "\u{1}",
        "🙂",
        "   ",
        "",
        "\\",
        "%",
        "_",
        "messages_fts MATCH 'x'",
    ];
    for query in hostile {
        let result = h.search(query, 10, None).await;
        assert!(result.is_ok(), "{query:?}: {result:?}");
        let result = h.search_in("bob", query, 10, None).await;
        assert!(result.is_ok(), "{query:?} in a conversation: {result:?}");
    }
    let long = "word ".repeat(5000) + &"x".repeat(100_000);
    h.search(&long, 10, None).await.unwrap();

    // Operators are searched for as the words they are.
    assert_eq!(search_ids(&h, "\"quoted\" AND(").await, ["s6"]);
    assert_eq!(search_ids(&h, "NEAR").await, ["s6"]);
    assert_eq!(search_ids(&h, "hello OR tour").await, Vec::<String>::new());
    assert_eq!(
        search_ids(&h, "body:hello").await,
        Vec::<String>::new(),
        "no column filters"
    );
    assert_eq!(search_ids(&h, "-hello").await, ["s5", "s1"]);

    // Nothing was dropped, and the index still matches the table.
    assert_eq!(h.page("bob", None, 100).await.unwrap().messages.len(), 4);
    assert_eq!(search_ids(&h, "hello").await, ["s5", "s1"]);
}

#[tokio::test]
async fn a_conversation_opens_around_a_search_hit() {
    let h = History::open_in_memory().unwrap();
    for i in 0..30 {
        incoming(&h, "bob", &format!("b{i}"), &format!("message number {i}")).await;
        // Another conversation interleaved: its messages must never show up in bob's pages.
        incoming(&h, "carol", &format!("c{i}"), "noise").await;
    }
    let hit = search_ids(&h, "number 12").await;
    assert_eq!(hit, ["b12"]);
    let anchor = h.message("b12").await.unwrap().unwrap();

    // Older side, the hit included: page before the message just after it.
    let after_hit = h.page_after("bob", anchor.cursor(), 5).await.unwrap();
    assert_eq!(ids(&after_hit.messages), ["b13", "b14", "b15", "b16", "b17"]);
    let forward = h.page_after("bob", after_hit.next.unwrap(), 100).await.unwrap();
    assert_eq!(forward.messages.first().unwrap().id, "b18");
    assert_eq!(forward.messages.last().unwrap().id, "b29");
    assert!(forward.next.is_none(), "the newest message ends the forward walk");

    let older = h.page("bob", Some(anchor.cursor()), 3).await.unwrap();
    assert_eq!(ids(&older.messages), ["b11", "b10", "b9"]);
    assert!(h
        .page_after("bob", forward.messages.last().unwrap().cursor(), 10)
        .await
        .unwrap()
        .messages
        .is_empty());
}

#[tokio::test]
async fn completing_a_transfer_records_where_it_went_and_owes_the_sender_in_one_go() {
    use parley_history::{NewFile, TransferState};
    let h = History::open_in_memory().unwrap();
    let file = NewFile {
        name: "notes.txt".into(),
        size: 5,
        mime: "text/plain".into(),
        sha256: "ab".repeat(32),
        width: None,
        height: None,
        thumbnail: None,
        state: TransferState::Waiting,
        path: None,
        source_stamp: None,
    };
    h.insert_many(vec![
        NewMessage::incoming("bob", "f1", "bob", "", 1_000, 2_000).with_file(file)
    ])
    .await
    .unwrap();

    h.set_transfer_placing("f1", "/downloads/notes.txt").await.unwrap();
    let record = h.transfer("f1").await.unwrap().unwrap();
    assert_eq!(record.placing.as_deref(), Some("/downloads/notes.txt"));
    assert_eq!(record.file.state, TransferState::Waiting, "placing is not complete");

    let done = h
        .complete_transfer("f1", "/downloads/notes.txt", 5, ("a1", "{\"complete\":1}"))
        .await
        .unwrap()
        .expect("changed");
    let file = done.file.unwrap();
    assert_eq!(
        (file.state, file.path.as_deref()),
        (TransferState::Complete, Some("/downloads/notes.txt"))
    );
    assert_eq!(h.transfer("f1").await.unwrap().unwrap().placing, None);
    let owed = h.pending_actions("bob").await.unwrap();
    assert_eq!(owed.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a1"]);

    // Finished already: nothing changes and the sender is not told twice.
    let again = h.complete_transfer("f1", "/elsewhere", 5, ("a2", "{}")).await.unwrap();
    assert!(again.is_none());
    assert_eq!(h.pending_actions("bob").await.unwrap().len(), 1);
}
