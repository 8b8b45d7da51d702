//! This machine's addresses as other devices on its networks see them: what an invite to a
//! server listening on every interface (`0.0.0.0`) should name.

use std::net::IpAddr;

/// Addresses of the interfaces that are up, loopback and IPv6 link-local left out (a link-local
/// address needs a zone that differs on every device, so it cannot be handed on). IPv4 first.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut found: Vec<IpAddr> = match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces
            .into_iter()
            .filter(|i| !i.is_loopback())
            .map(|i| i.ip())
            .filter(|ip| match ip {
                IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
                IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list this machine's network interfaces");
            Vec::new()
        }
    };
    found.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    found.dedup();
    found
}
