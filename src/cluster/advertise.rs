//! Which `host:port` a broker tells others to connect to (RocketMQ's brokerIP1 for clients, brokerIP2
//! for HA): the configured advertise address, else the bound address, with an unspecified IP
//! (`0.0.0.0` / `::`) replaced by this host's first non-loopback address (Java's
//! `NetworkUtil.getLocalAddress`: IPv4 before IPv6; link-local addresses skipped). A host with none
//! falls back to loopback, which only works for clients on the same host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The address to advertise for a listener bound at `bound`.
pub fn advertised(configured: Option<&str>, bound: SocketAddr) -> String {
    if let Some(addr) = configured {
        return addr.to_string();
    }
    if !bound.ip().is_unspecified() {
        return bound.to_string();
    }
    let ip = choose(&interface_addrs()).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, bound.port()).to_string()
}

/// The store host every record this broker writes names (RocketMQ's `storeHost`: brokerIP1 with
/// the listen port), and so the address in every offset msgId it hands out. Clients decode that
/// address to reach the broker (`viewMessage`, `mqadmin queryMsgById`), so it must be what they
/// are told to connect to: the advertised client address. A host name there is resolved once
/// (`resolve`; IPv4 first). When it does not resolve, the answer is `Err` with the bound address
/// (a wildcard replaced by loopback) for the caller to use and warn about.
pub fn store_host(
    advertised: &str,
    bound: SocketAddr,
    resolve: impl FnOnce(&str) -> Vec<SocketAddr>,
) -> Result<SocketAddr, SocketAddr> {
    if let Ok(addr) = advertised.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let resolved = resolve(advertised);
    let v4 = resolved.iter().find(|a| a.is_ipv4());
    match v4.or(resolved.first()) {
        Some(addr) => Ok(*addr),
        None if bound.ip().is_unspecified() => {
            Err(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bound.port()))
        }
        None => Err(bound),
    }
}

/// The first usable address: IPv4 that is not loopback or link-local, else such an IPv6.
pub fn choose(addrs: &[IpAddr]) -> Option<IpAddr> {
    let usable = |ip: &&IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    };
    let v4 = addrs.iter().filter(|ip| ip.is_ipv4()).find(usable);
    v4.or_else(|| addrs.iter().filter(|ip| ip.is_ipv6()).find(usable))
        .copied()
}

/// Every address of this host's interfaces that are up (`getifaddrs`); empty if it fails.
fn interface_addrs() -> Vec<IpAddr> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `getifaddrs` fills `head` with a list it allocated; we only read it and free it
    // once with `freeifaddrs`, below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list `getifaddrs` returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        let up = ifa.ifa_flags & libc::IFF_UP as u32 != 0;
        if ifa.ifa_addr.is_null() || !up {
            continue;
        }
        // SAFETY: a non-null `ifa_addr` points at a sockaddr whose family says its real type.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if family == libc::AF_INET {
            // SAFETY: AF_INET: the sockaddr is a sockaddr_in.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            out.push(IpAddr::from(
                u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
            ));
        } else if family == libc::AF_INET6 {
            // SAFETY: AF_INET6: the sockaddr is a sockaddr_in6.
            let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
        }
    }
    // SAFETY: `head` came from a successful `getifaddrs` and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn configured_wins_and_a_specific_bind_is_kept() {
        let bound: SocketAddr = "0.0.0.0:10911".parse().unwrap();
        assert_eq!(advertised(Some("10.0.0.5:10911"), bound), "10.0.0.5:10911");
        let bound: SocketAddr = "192.168.1.2:10911".parse().unwrap();
        assert_eq!(advertised(None, bound), "192.168.1.2:10911");
    }

    #[test]
    fn a_wildcard_bind_never_advertises_the_wildcard() {
        let bound: SocketAddr = "0.0.0.0:10911".parse().unwrap();
        let a: SocketAddr = advertised(None, bound).parse().unwrap();
        assert!(!a.ip().is_unspecified(), "{a}");
        assert_eq!(a.port(), 10911);
    }

    #[test]
    fn the_store_host_is_the_advertised_address_resolved_once() {
        let bound: SocketAddr = "0.0.0.0:10911".parse().unwrap();
        let never = |_: &str| -> Vec<SocketAddr> { panic!("an IP literal is not resolved") };
        assert_eq!(
            store_host("10.0.0.5:20911", bound, never),
            Ok("10.0.0.5:20911".parse().unwrap()),
            "the advertised port too: it is what clients reach"
        );
        assert_eq!(
            store_host("[2001:db8::5]:10911", bound, never),
            Ok("[2001:db8::5]:10911".parse().unwrap())
        );
        let both = |name: &str| {
            assert_eq!(name, "broker-a.example:10911");
            vec![
                "[2001:db8::5]:10911".parse().unwrap(),
                "10.0.0.5:10911".parse().unwrap(),
            ]
        };
        assert_eq!(
            store_host("broker-a.example:10911", bound, both),
            Ok("10.0.0.5:10911".parse().unwrap()),
            "IPv4 first"
        );
        let v6 = |_: &str| vec!["[2001:db8::5]:10911".parse().unwrap()];
        assert_eq!(
            store_host("broker-a.example:10911", bound, v6),
            Ok("[2001:db8::5]:10911".parse().unwrap())
        );
        let none = |_: &str| Vec::new();
        assert_eq!(
            store_host("nowhere.invalid:10911", bound, none),
            Err("127.0.0.1:10911".parse().unwrap()),
            "never the wildcard"
        );
        let bound: SocketAddr = "192.168.1.2:10911".parse().unwrap();
        assert_eq!(store_host("nowhere.invalid:1", bound, none), Err(bound));
    }

    #[test]
    fn ipv4_before_ipv6_and_no_loopback_or_link_local() {
        let addrs = [
            ip("127.0.0.1"),
            ip("fe80::1"),
            ip("2001:db8::1"),
            ip("169.254.1.1"),
            ip("10.1.2.3"),
        ];
        assert_eq!(choose(&addrs), Some(ip("10.1.2.3")));
        assert_eq!(choose(&addrs[..4]), Some(ip("2001:db8::1")));
        assert_eq!(choose(&[ip("127.0.0.1"), ip("::1")]), None);
    }
}
