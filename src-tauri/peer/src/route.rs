//! How a connection's packets travel, from the candidate pair ICE selected: so a person knows
//! when a relay carries their (still end-to-end encrypted) traffic.

use serde::{Deserialize, Serialize};
use webrtc::peer_connection::PeerConnection;
use webrtc::peer_connection::{RTCIceCandidate, RTCIceCandidateType};

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
    /// The route a selected pair of candidate types means. `own_addresses`: both ends of the
    /// pair are addresses of the devices' own interfaces (one of their host candidates). A
    /// peer-reflexive candidate is often just that — on a LAN, the remote's check can arrive
    /// before its host candidate was signalled — and then the path is as direct as host↔host.
    pub fn of(local: RTCIceCandidateType, remote: RTCIceCandidateType, own_addresses: bool) -> Option<Route> {
        use RTCIceCandidateType as T;
        Some(match (local, remote) {
            (T::Unspecified, _) | (_, T::Unspecified) => return None,
            (T::Relay, _) | (_, T::Relay) => Route::Relayed,
            (T::Host, T::Host) => Route::Direct,
            _ if own_addresses => Route::Direct,
            _ => Route::ThroughNat,
        })
    }
}

/// The route of `pc`'s selected candidate pair, once ICE has selected one.
pub(crate) async fn route_of(pc: &dyn PeerConnection) -> Option<Route> {
    let sctp = pc.sctp().await?;
    let ice = sctp.transport().ice_transport();
    let pair = ice.get_selected_candidate_pair().await.ok()??;
    let hosts = |candidates: Vec<RTCIceCandidate>| -> Vec<String> {
        candidates
            .into_iter()
            .filter(|c| c.typ == RTCIceCandidateType::Host)
            .map(|c| c.address)
            .collect()
    };
    let local_hosts = hosts(ice.get_local_candidates().await.unwrap_or_default());
    let remote_hosts = hosts(ice.get_remote_candidates().await.unwrap_or_default());
    let own_addresses = local_hosts.contains(&pair.local().address) && remote_hosts.contains(&pair.remote().address);
    Route::of(pair.local().typ, pair.remote().typ, own_addresses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RTCIceCandidateType as T;

    #[test]
    fn a_relay_on_either_side_is_relayed_and_only_the_devices_own_addresses_are_direct() {
        assert_eq!(Route::of(T::Host, T::Host, true), Some(Route::Direct));
        assert_eq!(Route::of(T::Srflx, T::Host, false), Some(Route::ThroughNat));
        assert_eq!(Route::of(T::Host, T::Prflx, false), Some(Route::ThroughNat));
        // A peer-reflexive candidate that is the remote's own address: the LAN race.
        assert_eq!(Route::of(T::Host, T::Prflx, true), Some(Route::Direct));
        assert_eq!(Route::of(T::Srflx, T::Srflx, false), Some(Route::ThroughNat));
        assert_eq!(Route::of(T::Relay, T::Srflx, false), Some(Route::Relayed));
        assert_eq!(Route::of(T::Host, T::Relay, true), Some(Route::Relayed));
        assert_eq!(Route::of(T::Unspecified, T::Host, true), None);
    }
}
