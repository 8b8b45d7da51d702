//! Replies, edits, deletions and reactions between two real cores through a real signaling
//! server: each shows on both sides and in both histories, and one made while the other person
//! is offline (even across a restart of the person who made it) arrives when they are back.

use parley_core::{CoreEvent, DeliveryState, Message};
use parley_tests::{online_pair, Person, TestServer};

/// Waits until `person` hears that message `id` changed and `done` holds for it; returns it.
async fn wait_changed(person: &mut Person, id: &str, done: impl Fn(&Message) -> bool) -> Message {
    person
        .wait_for(&format!("message {id} to change"), |e| match e {
            CoreEvent::MessageChanged { message } if message.id == id && done(message) => Some(message.clone()),
            _ => None,
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_edits_reactions_and_deletions_reach_both_histories() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let question = alice.send(&bob.user, "lunch at noon?").await;
    bob.wait_for_message(&question.id).await;

    // A reply carries its quote on both sides.
    let answer = bob
        .parley()
        .send_message(alice.id(), "yes, see you there", Some(&question.id))
        .await
        .unwrap();
    let arrived = alice.wait_for_message(&answer.id).await;
    assert_eq!(arrived.reply_to.as_deref(), Some(question.id.as_str()));
    let quoted = alice.message(&answer.id).await.reply.expect("the quote");
    assert_eq!(
        (quoted.text.as_str(), quoted.sender_id.as_str()),
        ("lunch at noon?", alice.id())
    );
    let unknown = bob.parley().send_message(alice.id(), "re: ?", Some("no-such-id")).await;
    assert_eq!(unknown.unwrap_err().code(), "unknown_message");

    // Alice edits her question: both histories say the new words, marked edited; search too.
    let edited = alice
        .parley()
        .edit_message(bob.id(), &question.id, "lunch at one?")
        .await
        .unwrap();
    assert!(edited.edited_at.is_some());
    let seen = wait_changed(&mut bob, &question.id, |m| m.body == "lunch at one?").await;
    assert!(seen.edited_at.is_some());
    let hits = bob.parley().search("one", None, None, Some(10)).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message.id, question.id);
    // Bob's quote of it follows the edit.
    assert_eq!(bob.message(&answer.id).await.reply.unwrap().text, "lunch at one?");
    // Nobody edits someone else's message.
    let theirs = bob.parley().edit_message(alice.id(), &question.id, "mine now").await;
    assert_eq!(theirs.unwrap_err().code(), "not_your_message");

    // Reactions: one per person, shown on both sides, removable.
    bob.parley().react(alice.id(), &question.id, Some("👍")).await.unwrap();
    let reacted = wait_changed(&mut alice, &question.id, |m| !m.reactions.is_empty()).await;
    assert_eq!(reacted.reactions[0].emoji, "👍");
    assert_eq!(reacted.reactions[0].user_id, bob.id());
    bob.parley().react(alice.id(), &question.id, Some("🎉")).await.unwrap();
    wait_changed(&mut alice, &question.id, |m| {
        m.reactions.iter().any(|r| r.emoji == "🎉")
    })
    .await;
    assert_eq!(alice.message(&question.id).await.reactions.len(), 1);
    let not_emoji = bob.parley().react(alice.id(), &question.id, Some("lol")).await;
    assert_eq!(not_emoji.unwrap_err().code(), "invalid_reaction");

    // Delete for everyone: a placeholder on both sides, the words gone from both searches.
    bob.parley().delete_message(alice.id(), &answer.id, true).await.unwrap();
    let gone = wait_changed(&mut alice, &answer.id, |m| m.deleted).await;
    assert!(gone.body.is_empty());
    for person in [&alice, &bob] {
        assert!(person
            .parley()
            .search("see you", None, None, Some(10))
            .await
            .unwrap()
            .is_empty());
        assert!(person
            .conversation(if person.id() == alice.id() {
                bob.id()
            } else {
                alice.id()
            })
            .await
            .iter()
            .any(|m| m.id == answer.id && m.deleted));
    }

    // Delete for me: gone here only.
    alice
        .parley()
        .delete_message(bob.id(), &question.id, false)
        .await
        .unwrap();
    assert!(!alice.conversation(bob.id()).await.iter().any(|m| m.id == question.id));
    assert!(bob.conversation(alice.id()).await.iter().any(|m| m.id == question.id));

    alice.quit().await;
    bob.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_made_while_the_other_is_away_arrive_when_they_are_back() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    let first = alice.send(&bob.user, "typo hree").await;
    bob.wait_for_message(&first.id).await;
    alice.wait_for_state(&first.id, DeliveryState::Delivered).await;
    let second = alice.send(&bob.user, "never mind").await;
    bob.wait_for_message(&second.id).await;
    alice.wait_for_state(&second.id, DeliveryState::Delivered).await;
    bob.quit().await;

    alice
        .parley()
        .edit_message(bob.id(), &first.id, "typo here")
        .await
        .unwrap();
    alice.parley().delete_message(bob.id(), &second.id, true).await.unwrap();
    alice.parley().react(bob.id(), &first.id, Some("✅")).await.unwrap();
    // The outbox of actions is on disk: it survives Alice restarting before Bob is back.
    alice.restart().await;
    bob.restart().await;

    let edited = wait_changed(&mut bob, &first.id, |m| m.body == "typo here").await;
    assert!(edited.edited_at.is_some());
    wait_changed(&mut bob, &second.id, |m| m.deleted).await;
    wait_changed(&mut bob, &first.id, |m| m.reactions.iter().any(|r| r.emoji == "✅")).await;
    // Acknowledged: nothing left to resend, and nothing applied twice.
    let conversation = bob.conversation(alice.id()).await;
    assert_eq!(conversation.len(), 2);
    alice.quit().await;
    bob.quit().await;
}
