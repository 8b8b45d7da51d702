//! How a connection's packets travel, from the candidate pair ICE selected: so a person knows
//! when a relay carries their (still end-to-end encrypted) traffic.

use serde::{Deserialize, Serialize};
use webrtc::peer_connection::PeerConnection;
use webrtc::peer_connection::RTCIceCandidateType;

/// The path of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Route {
    /// Directly between the two devices' own addresses: the same network.
    Direct,
    /// Directly, through one or both sides' NAT (an address a STUN server or the remote saw).
    ThroughNat,
    /// Through a TURN relay: neither side could reach the other directly.
    Relayed,
}

impl Route {
    /// The route a selected pair of candidate types means.
    pub fn of(local: RTCIceCandidateType, remote: RTCIceCandidateType) -> Option<Route> {
        use RTCIceCandidateType as T;
        Some(match (local, remote) {
            (T::Unspecified, _) | (_, T::Unspecified) => return None,
            (T::Relay, _) | (_, T::Relay) => Route::Relayed,
            (T::Host, T::Host) => Route::Direct,
            _ => Route::ThroughNat,
        })
    }
}

/// The route of `pc`'s selected candidate pair, once ICE has selected one.
pub(crate) async fn route_of(pc: &dyn PeerConnection) -> Option<Route> {
    let sctp = pc.sctp().await?;
    let pair = sctp
        .transport()
        .ice_transport()
        .get_selected_candidate_pair()
        .await
        .ok()??;
    Route::of(pair.local().typ, pair.remote().typ)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RTCIceCandidateType as T;

    #[test]
    fn a_relay_on_either_side_is_relayed_and_only_host_pairs_are_direct() {
        assert_eq!(Route::of(T::Host, T::Host), Some(Route::Direct));
        assert_eq!(Route::of(T::Srflx, T::Host), Some(Route::ThroughNat));
        assert_eq!(Route::of(T::Host, T::Prflx), Some(Route::ThroughNat));
        assert_eq!(Route::of(T::Srflx, T::Srflx), Some(Route::ThroughNat));
        assert_eq!(Route::of(T::Relay, T::Srflx), Some(Route::Relayed));
        assert_eq!(Route::of(T::Host, T::Relay), Some(Route::Relayed));
        assert_eq!(Route::of(T::Unspecified, T::Host), None);
    }
}
