//! Tuning for the peer layer and its translation into webrtc-rs settings.

use std::sync::Arc;
use std::time::Duration;

use parley_protocol::IceServer;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::peer_connection::configuration::setting_engine::SctpMaxMessageSize;
use webrtc::peer_connection::{
    RTCConfiguration, RTCConfigurationBuilder, RTCIceServer, SettingEngine, SettingEngineBuilder,
};
use webrtc::runtime::Runtime;

use super::runtime::PeerRuntime;
use super::MAX_FRAME_LEN;

/// How connections are built. `Default` suits real networks; [`PeerConfig::loopback`] suits tests
/// and benchmarks on one machine.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// STUN/TURN servers to gather candidates through (the signaling server's and the person's).
    pub ice_servers: Vec<IceServer>,
    /// Gather exactly one host candidate, 127.0.0.1, and ignore `ice_servers`. Remote candidates
    /// that are not loopback are refused, so a test can never send a packet off the machine.
    pub loopback_only: bool,
    /// Pace of ICE connectivity checks while connecting. webrtc-rs defaults to 200 ms, which
    /// alone costs several hundred ms of set-up; every pair is pinged once per tick.
    pub ice_check_interval: Duration,
    /// Checks per candidate pair before it is given up. Together with `ice_check_interval` this
    /// is how long a pair may take to answer, so a short interval needs more attempts for paths
    /// with a long round trip.
    pub ice_max_binding_requests: u16,
    /// Silence before ICE reports `disconnected` (the peer layer then drops the connection).
    pub ice_disconnected_timeout: Duration,
    /// Silence before ICE reports `failed`.
    pub ice_failed_timeout: Duration,
    /// Keep-alive pace when no data flows; must stay well under `ice_disconnected_timeout`.
    pub ice_keepalive_interval: Duration,
    /// SCTP receive window. The 1 MiB default caps throughput on anything but tiny RTTs.
    pub sctp_receive_buffer: u32,
    /// Bytes a channel may have queued but unacknowledged before `send` waits: bounds memory
    /// when the remote stops reading (Chromium's limit is the same 16 MiB).
    pub send_buffer_limit: usize,
    /// A connection that has not opened its channel after this long is dropped, so that a lost
    /// offer or answer does not leave a dead entry that makes `connect` a no-op forever.
    pub setup_timeout: Duration,
    /// Tests only: open channels without the identity handshake and hand up every frame, so a
    /// test can build the man in the middle the handshake must defeat (it relays the honest
    /// sides' handshake frames between its own two connections).
    #[cfg(feature = "test-utils")]
    pub raw_channel: bool,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            loopback_only: false,
            ice_check_interval: Duration::from_millis(20),
            // 20 ms × 100 = 2 s per pair: TURN paths across continents still get several tries.
            ice_max_binding_requests: 100,
            ice_disconnected_timeout: Duration::from_secs(5),
            ice_failed_timeout: Duration::from_secs(25),
            ice_keepalive_interval: Duration::from_secs(2),
            sctp_receive_buffer: 16 * 1024 * 1024,
            send_buffer_limit: 16 * 1024 * 1024,
            setup_timeout: Duration::from_secs(20),
            #[cfg(feature = "test-utils")]
            raw_channel: false,
        }
    }
}

impl PeerConfig {
    /// Loopback-only settings for tests and benchmarks on one machine.
    pub fn loopback() -> Self {
        Self {
            loopback_only: true,
            ice_check_interval: Duration::from_millis(5),
            ice_max_binding_requests: 200,
            ..Self::default()
        }
    }

    /// webrtc's settings for these (the data connections' and the calls' media connections').
    pub fn setting_engine(&self) -> SettingEngine {
        let mut builder = SettingEngineBuilder::new()
            .with_ice_connection_attempts(Some(self.ice_check_interval), Some(self.ice_max_binding_requests))
            .with_ice_timeouts(
                Some(self.ice_disconnected_timeout),
                Some(self.ice_failed_timeout),
                Some(self.ice_keepalive_interval),
            )
            // Host pairs are the best there is; waiting before nominating one buys nothing.
            .with_host_acceptance_min_wait(Some(Duration::ZERO))
            // A remote's connectivity check often arrives before its candidate does through the
            // signaling server; the pair is then peer-reflexive, and webrtc's default 1 s wait for
            // those stalled about one set-up in three by exactly that second. The address the
            // check came from is one the remote demonstrably sends from.
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
            // mDNS binds the shared port 5353 and hides addresses the signaling server's users
            // are already trusted with; a desktop app gains nothing from it.
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_sctp_max_receive_buffer_size(self.sctp_receive_buffer)
            // Advertised to the remote, so its stack refuses to send us more than we accept.
            .with_sctp_max_message_size(SctpMaxMessageSize::Bounded(MAX_FRAME_LEN as u32));
        if self.loopback_only {
            builder = builder
                .with_network_types(vec![NetworkType::Udp4])
                .with_include_loopback_candidate(true);
        }
        builder.build()
    }

    /// The runtime webrtc runs the connections on: tokio's, with large UDP socket buffers
    /// (runtime.rs says why).
    pub fn runtime(&self) -> Arc<dyn Runtime> {
        PeerRuntime::shared()
    }

    /// The ICE servers, as webrtc takes them.
    pub fn rtc_configuration(&self) -> RTCConfiguration {
        let ice_servers = if self.loopback_only {
            Vec::new()
        } else {
            self.ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone().unwrap_or_default(),
                    credential: s.credential.clone().unwrap_or_default(),
                })
                .collect()
        };
        RTCConfigurationBuilder::new().with_ice_servers(ice_servers).build()
    }

    /// A concrete address is bound as is; the wildcard is expanded by webrtc-rs into one socket
    /// per non-loopback interface.
    pub fn udp_addrs(&self) -> Vec<String> {
        if self.loopback_only {
            vec!["127.0.0.1:0".to_owned()]
        } else {
            vec!["0.0.0.0:0".to_owned()]
        }
    }
}
