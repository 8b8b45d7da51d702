//! Calls between headless cores through a real signaling server: the whole signaling flow the
//! pages drive (here the test plays both pages: it relays descriptions and candidates and says
//! when "media" connected), every outcome, and the entries calls leave in the histories.

use parley_core::{CallEnd, CallPhase, CallSignal, CallView, CoreEvent, Message, Party, SdpKind};
use parley_history::CallOutcome;
use parley_tests::{online_pair, Person, TestServer};

/// The next state of a call on `person`'s side that `pick` accepts.
async fn call_state(person: &mut Person, what: &str, pick: impl Fn(&CallView) -> bool) -> CallView {
    person
        .wait_for(what, |e| match e {
            CoreEvent::Call { call } if pick(call) => Some(call.clone()),
            _ => None,
        })
        .await
}

async fn ringing_here(person: &mut Person) -> CallView {
    call_state(person, "a call ringing here", |c| c.phase == CallPhase::RingingHere).await
}

async fn ended(person: &mut Person, id: &str) -> CallEnd {
    call_state(person, "the call over", |c| c.id == id && c.phase == CallPhase::Ended)
        .await
        .end
        .expect("an ended call says how")
}

/// The first signal for the page of `person` that `pick` accepts.
async fn signal(person: &mut Person, what: &str, pick: impl Fn(&CallSignal) -> bool) -> CallSignal {
    person
        .wait_for(what, |e| match e {
            CoreEvent::CallSignal { signal, .. } if pick(signal) => Some(signal.clone()),
            _ => None,
        })
        .await
}

/// The call entry `person` keeps for call `id`.
async fn entry(person: &mut Person, id: &str) -> Message {
    person
        .wait_for("the call's entry in the conversation", |e| match e {
            CoreEvent::Message { message } if message.id == id && message.call.is_some() => Some(message.clone()),
            _ => None,
        })
        .await
}

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
const ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_rings_is_answered_negotiates_mutes_and_hangs_up_on_both_sides() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.wait_for_peer(alice.id()).await;
    alice.mark();
    bob.mark();

    let placed = alice.parley().start_call(bob.id(), true).await.unwrap();
    assert!(placed.outgoing && placed.video);
    let ringing = ringing_here(&mut bob).await;
    assert_eq!(
        (ringing.id.as_str(), ringing.user_id.as_str()),
        (placed.id.as_str(), alice.id())
    );
    assert!(!ringing.outgoing && ringing.video);
    call_state(&mut alice, "ringing at bob's", |c| c.phase == CallPhase::RingingThere).await;

    bob.parley().answer_call(&ringing.id).await.unwrap();
    // The caller's page offers, the callee's answers; candidates both ways.
    let start = |s: &CallSignal| matches!(s, CallSignal::Start { .. });
    assert!(matches!(
        signal(&mut alice, "start", start).await,
        CallSignal::Start { offerer: true, .. }
    ));
    assert!(matches!(
        signal(&mut bob, "start", start).await,
        CallSignal::Start { offerer: false, .. }
    ));
    let sdp = |kind, sdp: &str| CallSignal::Sdp {
        sdp_kind: kind,
        sdp: sdp.to_owned(),
    };
    alice
        .parley()
        .call_signal(&placed.id, sdp(SdpKind::Offer, OFFER))
        .await
        .unwrap();
    let described = |s: &CallSignal| matches!(s, CallSignal::Sdp { .. });
    assert_eq!(
        signal(&mut bob, "alice's offer", described).await,
        sdp(SdpKind::Offer, OFFER)
    );
    bob.parley()
        .call_signal(&placed.id, sdp(SdpKind::Answer, ANSWER))
        .await
        .unwrap();
    assert_eq!(
        signal(&mut alice, "bob's answer", described).await,
        sdp(SdpKind::Answer, ANSWER)
    );
    let candidate = CallSignal::Ice {
        candidate: "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host".into(),
        mid: Some("0".into()),
        mline: Some(0),
    };
    bob.parley().call_signal(&placed.id, candidate.clone()).await.unwrap();
    let ice = |s: &CallSignal| matches!(s, CallSignal::Ice { .. });
    assert_eq!(signal(&mut alice, "bob's candidate", ice).await, candidate);
    // A page may not offer from the answering side.
    let wrong = bob
        .parley()
        .call_signal(&placed.id, sdp(SdpKind::Offer, OFFER))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "invalid_call_signal");

    alice.parley().call_media_state(&placed.id, None).await.unwrap();
    bob.parley().call_media_state(&placed.id, None).await.unwrap();
    let active = call_state(&mut alice, "talking", |c| c.phase == CallPhase::Active).await;
    assert!(active.answered_at.is_some());
    assert_eq!(alice.parley().current_call().map(|c| c.phase), Some(CallPhase::Active));

    // Bob mutes and turns his camera off: alice's side shows it.
    bob.parley().set_call_media(&placed.id, false, false).await.unwrap();
    call_state(&mut alice, "bob muted", |c| !c.remote_audio && !c.remote_video).await;
    bob.parley().set_call_media(&placed.id, true, false).await.unwrap();
    call_state(&mut alice, "bob unmuted", |c| c.remote_audio && !c.remote_video).await;

    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    alice.parley().hang_up(&placed.id).await.unwrap();
    assert_eq!(ended(&mut alice, &placed.id).await, CallEnd::HungUp { by: Party::Me });
    assert_eq!(ended(&mut bob, &placed.id).await, CallEnd::HungUp { by: Party::Them });
    assert!(alice.parley().current_call().is_none());

    // Both conversations keep it: answered, with how long it lasted.
    for person in [&mut alice, &mut bob] {
        let kept = entry(person, &placed.id).await;
        let call = kept.call.unwrap();
        assert_eq!(call.outcome, CallOutcome::Answered);
        assert!(call.video);
        assert!(call.duration_ms.is_some_and(|d| d >= 0));
        assert_eq!(kept.body, "Video call");
    }
    let page = bob.parley().history_page(alice.id(), None, Some(10)).await.unwrap();
    assert!(page.messages.iter().any(|m| m.id == placed.id && m.call.is_some()));
    assert_eq!(
        alice.parley().hang_up(&placed.id).await.unwrap_err().code(),
        "no_such_call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_cancelled_and_busy_calls_end_the_same_way_on_both_sides() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.wait_for_peer(alice.id()).await;
    alice.mark();
    bob.mark();

    // Declined.
    let call = alice.parley().start_call(bob.id(), false).await.unwrap();
    let ringing = ringing_here(&mut bob).await;
    assert!(!ringing.video, "an audio call");
    bob.parley().decline_call(&ringing.id).await.unwrap();
    assert_eq!(ended(&mut alice, &call.id).await, CallEnd::Declined { by: Party::Them });
    assert_eq!(ended(&mut bob, &call.id).await, CallEnd::Declined { by: Party::Me });
    assert_eq!(
        entry(&mut alice, &call.id).await.call.unwrap().outcome,
        CallOutcome::Declined
    );

    // Cancelled by the caller: missed on the callee's side, and unread there.
    alice.mark();
    bob.mark();
    let call = alice.parley().start_call(bob.id(), true).await.unwrap();
    ringing_here(&mut bob).await;
    alice.parley().hang_up(&call.id).await.unwrap();
    assert_eq!(ended(&mut alice, &call.id).await, CallEnd::Cancelled);
    assert_eq!(ended(&mut bob, &call.id).await, CallEnd::Missed);
    let missed = entry(&mut bob, &call.id).await;
    assert_eq!(missed.call.unwrap().outcome, CallOutcome::Missed);
    assert_eq!(
        missed.state,
        parley_core::DeliveryState::Received,
        "a missed call is unread"
    );
    let contacts = bob.parley().contacts().await.unwrap();
    let with_alice = contacts.iter().find(|c| c.user.id == alice.id()).unwrap();
    assert!(
        with_alice.conversation.as_ref().is_some_and(|c| c.unread >= 1),
        "{with_alice:?}"
    );

    // Busy: carol calls bob while he talks to alice.
    let mut carol = Person::register(&server, "carol").await;
    carol.go_online("lobby").await;
    carol.wait_for_peer(bob.id()).await;
    alice.mark();
    bob.mark();
    let call = alice.parley().start_call(bob.id(), true).await.unwrap();
    let ringing = ringing_here(&mut bob).await;
    bob.parley().answer_call(&ringing.id).await.unwrap();
    call_state(&mut alice, "answered", |c| c.phase == CallPhase::Connecting).await;
    let from_carol = carol.parley().start_call(bob.id(), true).await.unwrap();
    assert_eq!(ended(&mut carol, &from_carol.id).await, CallEnd::Busy);
    assert_eq!(
        entry(&mut carol, &from_carol.id).await.call.unwrap().outcome,
        CallOutcome::Busy
    );
    let missed = entry(&mut bob, &from_carol.id).await;
    assert_eq!(
        missed.call.unwrap().outcome,
        CallOutcome::Missed,
        "kept as missed while busy"
    );
    // Meanwhile the first call goes on, and a second one from here is refused.
    assert_eq!(bob.parley().current_call().map(|c| c.id), Some(call.id.clone()));
    assert_eq!(
        bob.parley().start_call(carol.id(), false).await.unwrap_err().code(),
        "already_in_call"
    );
    bob.parley().hang_up(&call.id).await.unwrap();
    assert_eq!(ended(&mut alice, &call.id).await, CallEnd::HungUp { by: Party::Them });
    // Answered but never connected, then hung up: not "answered" in the history.
    assert_eq!(
        entry(&mut alice, &call.id).await.call.unwrap().outcome,
        CallOutcome::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_both_call_at_once_one_call_remains_and_is_answered() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.wait_for_peer(alice.id()).await;
    alice.wait_for_peer(bob.id()).await;
    alice.mark();
    bob.mark();
    let (a, b) = tokio::join!(
        alice.parley().start_call(bob.id(), true),
        bob.parley().start_call(alice.id(), true)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let winner = a.id.clone().min(b.id.clone());
    for person in [&mut alice, &mut bob] {
        call_state(person, "the remaining call connecting", |c| {
            c.id == winner && c.phase == CallPhase::Connecting
        })
        .await;
    }
    assert_eq!(alice.parley().current_call().unwrap().id, winner);
    assert_eq!(bob.parley().current_call().unwrap().id, winner);
    alice.parley().hang_up(&winner).await.unwrap();
    assert_eq!(ended(&mut bob, &winner).await, CallEnd::HungUp { by: Party::Them });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_someone_offline_or_oneself_says_why() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.wait_for_peer(alice.id()).await;
    let me = alice.id().to_owned();
    assert_eq!(
        alice.parley().start_call(&me, true).await.unwrap_err().code(),
        "call_to_self"
    );
    let bob_id = bob.id().to_owned();
    alice.mark();
    bob.quit().await;
    // Once the server says he left (until then his device may still be rung through it).
    alice
        .wait_for("bob gone", |e| matches!(e, CoreEvent::PeerLeft { .. }).then_some(()))
        .await;
    let refused = alice.parley().start_call(&bob_id, true).await.unwrap_err();
    assert_eq!(refused.code(), "not_reachable", "{refused}");
    assert!(alice.parley().current_call().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_cannot_take_calls_answers_unsupported_and_keeps_a_missed_call() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = online_pair(&server).await;
    bob.wait_for_peer(alice.id()).await;
    bob.parley().set_calls_supported(false);
    alice.mark();
    bob.mark();
    let call = alice.parley().start_call(bob.id(), true).await.unwrap();
    assert_eq!(ended(&mut alice, &call.id).await, CallEnd::Unsupported);
    let kept = entry(&mut bob, &call.id).await;
    assert_eq!(kept.call.unwrap().outcome, CallOutcome::Unsupported);
    assert_eq!(
        kept.state,
        parley_core::DeliveryState::Received,
        "shown as a missed call"
    );
    // And it cannot place one either, with the reason.
    let refused = bob.parley().start_call(alice.id(), false).await.unwrap_err();
    assert_eq!(refused.code(), "calls_unavailable", "{refused}");
}
