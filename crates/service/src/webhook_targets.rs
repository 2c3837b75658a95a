//! Where simgate may send a tenant's events: public addresses only.
//!
//! A webhook URL is chosen by a tenant, and simgate calls it from inside the
//! operator's network; without this guard a tenant could make simgate call
//! the cloud metadata service (`169.254.169.254`), a database on loopback or
//! anything else behind the firewall, and read the answer's status in the
//! delivery list. So a target is checked twice: at registration (its literal
//! address, or every address its host name resolves to), and again when
//! connecting, through a DNS resolver that drops non-public addresses, so a
//! name that resolves differently later (DNS rebinding) cannot slip through.
//! Redirects are never followed, and no proxy is used: the address connected
//! to is always the one checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The stable code of a refused target, at registration (problem `code`)
/// and in a delivery's `last_error`.
pub const NOT_PUBLIC_CODE: &str = "webhook_target_not_public";

/// Longest wait for a host name to resolve when an endpoint is registered.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Each attempt's time limit, connection included.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an address is not one simgate calls on a tenant's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonPublic {
    /// `127.0.0.0/8`, `::1`: this very machine.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `169.254/16` (cloud metadata services) and `fe80::/10`.
    LinkLocal,
    /// RFC 6598 carrier-grade NAT, `100.64/10`.
    SharedAddressSpace,
    /// `fc00::/7`, and the deprecated site-local `fec0::/10`.
    UniqueLocal,
    /// `0.0.0.0/8` and `::`: connecting to them reaches this machine.
    Unspecified,
    /// `224/4` and `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Documentation, benchmarking, protocol-assignment and future-use
    /// blocks: never a real public service.
    Reserved,
}

impl fmt::Display for NonPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private (RFC 1918) address",
            Self::LinkLocal => "a link-local address",
            Self::SharedAddressSpace => "a carrier-grade NAT (RFC 6598) address",
            Self::UniqueLocal => "a unique-local IPv6 address",
            Self::Unspecified => "an unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Reserved => "a reserved address",
        })
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// IPv4 blocks that are not publicly routable (IANA special-purpose registry).
const V4_BLOCKS: [(Ipv4Net, NonPublic); 14] = [
    (v4(0, 0, 0, 0, 8), NonPublic::Unspecified),
    (v4(10, 0, 0, 0, 8), NonPublic::Private),
    (v4(100, 64, 0, 0, 10), NonPublic::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), NonPublic::Loopback),
    (v4(169, 254, 0, 0, 16), NonPublic::LinkLocal),
    (v4(172, 16, 0, 0, 12), NonPublic::Private),
    (v4(192, 0, 0, 0, 24), NonPublic::Reserved),
    (v4(192, 0, 2, 0, 24), NonPublic::Reserved),
    (v4(192, 168, 0, 0, 16), NonPublic::Private),
    (v4(198, 18, 0, 0, 15), NonPublic::Reserved),
    (v4(198, 51, 100, 0, 24), NonPublic::Reserved),
    (v4(203, 0, 113, 0, 24), NonPublic::Reserved),
    (v4(224, 0, 0, 0, 4), NonPublic::Multicast),
    (v4(240, 0, 0, 0, 4), NonPublic::Reserved),
];

/// IPv6 blocks that are not publicly routable and embed no IPv4 address.
const V6_BLOCKS: [(Ipv6Net, NonPublic); 6] = [
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        NonPublic::Reserved,
    ),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), NonPublic::Reserved),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        NonPublic::Reserved,
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), NonPublic::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), NonPublic::LinkLocal),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        NonPublic::UniqueLocal,
    ),
];

/// IPv6 blocks whose last 32 bits are an IPv4 address the packet ends up
/// at: IPv4-compatible `::a.b.c.d`, IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-translated `::ffff:0:a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`.
const V6_EMBEDDING_V4: [Ipv6Net; 4] = [
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96),
];

/// 6to4 (`2002:a.b.c.d::/48`): the IPv4 address sits in bits 16 to 48.
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// Why `ip` must not be called on a tenant's behalf, or `None` when it is
/// a public address. IPv6 forms that carry an IPv4 address are judged by
/// that address.
pub fn non_public(ip: IpAddr) -> Option<NonPublic> {
    match ip {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => non_public_v6(ip),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<NonPublic> {
    if ip == Ipv4Addr::BROADCAST {
        return Some(NonPublic::Broadcast);
    }
    V4_BLOCKS
        .iter()
        .find(|(block, _)| block.contains(&ip))
        .map(|(_, why)| *why)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<NonPublic> {
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(NonPublic::Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(NonPublic::Loopback);
    }
    if ip.is_multicast() {
        return Some(NonPublic::Multicast);
    }
    let bits = ip.to_bits();
    if V6_EMBEDDING_V4.iter().any(|block| block.contains(&ip)) {
        // Truncation keeps exactly the low 32 bits: the embedded address.
        return non_public_v4(Ipv4Addr::from_bits(bits as u32));
    }
    if SIX_TO_FOUR.contains(&ip) {
        return non_public_v4(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    V6_BLOCKS
        .iter()
        .find(|(block, _)| block.contains(&ip))
        .map(|(_, why)| *why)
}

/// A target simgate will not call: the address it is (or the host name
/// that resolves to it), and why that address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TargetRefused {
    /// The host name, `None` when the URL names the address itself.
    pub name: Option<String>,
    pub address: IpAddr,
    pub reason: NonPublic,
}

impl fmt::Display for TargetRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (address, reason) = (self.address, self.reason);
        match &self.name {
            Some(name) => write!(f, "{name} resolves to {address}, {reason}"),
            None => write!(f, "{address} is {reason}"),
        }
    }
}

/// Why a webhook URL cannot be registered.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute `http(s)://` URL with a host.
    #[error("url '{url}' {why}")]
    InvalidUrl { url: String, why: &'static str },
    /// The host is, or resolves to, an address simgate does not call.
    #[error("webhook target {0}; simgate only calls public addresses")]
    NotPublic(TargetRefused),
    /// The host name does not resolve, so it cannot be checked.
    #[error("webhook target {host} could not be resolved: {why}")]
    Unresolvable { host: String, why: String },
}

/// A parsed `http(s)` URL with a host, or why the text is not one.
fn parse(raw: &str) -> Result<Url, TargetError> {
    let invalid = |why| TargetError::InvalidUrl {
        url: raw.to_owned(),
        why,
    };
    let url = Url::parse(raw).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    Ok(url)
}

/// The URL's host when it is an IP address (which no resolver sees). The
/// URL parser has already turned forms like `2130706433` or `0x7f.1` into
/// dotted quads, exactly as the client will connect to them.
fn literal_address(url: &Url) -> Option<IpAddr> {
    url.host_str()?.trim_matches(['[', ']']).parse().ok()
}

/// `Err` when `address` is not public; `name` is the host name it came from.
fn refuse(name: Option<&str>, address: IpAddr) -> Result<(), TargetRefused> {
    match non_public(address) {
        Some(reason) => Err(TargetRefused {
            name: name.map(str::to_owned),
            address,
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks a URL a tenant wants events sent to: it must be `http(s)`, and
/// unless `allow_private` (local development) its host must be a public
/// address or a name whose every address is public.
pub async fn check_registration(raw: &str, allow_private: bool) -> Result<(), TargetError> {
    let url = parse(raw)?;
    if allow_private {
        return Ok(());
    }
    if let Some(address) = literal_address(&url) {
        return refuse(None, address).map_err(TargetError::NotPublic);
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let unresolvable = |why: String| TargetError::Unresolvable {
        host: host.clone(),
        why,
    };
    let addresses: Vec<SocketAddr> = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| unresolvable(format!("no answer within {RESOLVE_TIMEOUT:?}")))?
    .map_err(|e| unresolvable(e.to_string()))?
    .collect();
    if addresses.is_empty() {
        return Err(unresolvable("it has no address".to_owned()));
    }
    for address in addresses {
        refuse(Some(&host), address.ip()).map_err(TargetError::NotPublic)?;
    }
    Ok(())
}

/// The refusal of a delivery URL whose host is a non-public IP address;
/// host names are checked by [`PublicOnlyResolver`] as they are resolved.
pub fn refusal_before_sending(raw: &str) -> Option<TargetRefused> {
    let address = literal_address(&Url::parse(raw).ok()?)?;
    refuse(None, address).err()
}

/// The refusal behind a failed request, when the resolver refused its host.
pub fn refusal_in(error: &reqwest::Error) -> Option<&TargetRefused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<TargetRefused>() {
            return Some(refused);
        }
        source = current.source();
    }
    None
}

/// Resolves like the system does, then drops every non-public address;
/// when none is left the connection fails with [`TargetRefused`]. Being
/// the client's resolver, it decides the very addresses connected to.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(resolve_public(name.as_str().to_owned()))
    }
}

async fn resolve_public(host: String) -> Result<Addrs, BoxError> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    let mut first_refusal = None;
    let mut public = Vec::with_capacity(resolved.len());
    for address in resolved {
        match refuse(Some(&host), address.ip()) {
            Ok(()) => public.push(address),
            Err(refused) => {
                first_refusal.get_or_insert(refused);
            }
        }
    }
    match first_refusal {
        Some(refused) if public.is_empty() => Err(refused.into()),
        _ => Ok(Box::new(public.into_iter())),
    }
}

/// What a reqwest resolver fails with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the delivery client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook delivery client: {0}")]
pub struct DeliveryClientError(#[from] reqwest::Error);

/// The client for event deliveries: redirects never followed (a 3xx is a
/// failed attempt), no proxy, and unless `allow_private` the
/// [`PublicOnlyResolver`].
pub fn delivery_client(allow_private: bool) -> Result<reqwest::Client, DeliveryClientError> {
    let builder = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(DELIVERY_TIMEOUT)
        .user_agent(concat!("simgate/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(PublicOnlyResolver)
    };
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(ip: &str) -> Option<NonPublic> {
        non_public(ip.parse().unwrap())
    }

    #[test]
    fn every_class_of_non_public_address_is_named() {
        use NonPublic::*;
        let cases = [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("fc00::1", UniqueLocal),
            ("fd12:3456:789a::1", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("ff05::1:3", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.2.10", Reserved),
            ("198.18.0.1", Reserved),
            ("198.51.100.7", Reserved),
            ("203.0.113.9", Reserved),
            ("192.0.0.8", Reserved),
            ("2001:db8::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Reserved),
        ];
        for (ip, expected) in cases {
            assert_eq!(why(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_carrying_an_ipv4_address_are_judged_by_it() {
        use NonPublic::*;
        let cases = [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:7f00:1", Loopback),
            ("::127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:192.168.0.1", Private),
            ("::ffff:100.64.1.1", SharedAddressSpace),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:224.0.0.1", Multicast),
            ("::ffff:255.255.255.255", Broadcast),
            ("::ffff:0:127.0.0.1", Loopback),
            ("64:ff9b::169.254.169.254", LinkLocal),
            ("64:ff9b::10.0.0.1", Private),
            ("2002:7f00:1::", Loopback),
            ("2002:a9fe:a9fe::1", LinkLocal),
        ];
        for (ip, expected) in cases {
            assert_eq!(why(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_accepted() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "192.167.255.255",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn a_refusal_says_what_the_host_resolved_to() {
        let literal = refusal_before_sending("http://[::ffff:127.0.0.1]:22/").unwrap();
        assert_eq!(literal.reason, NonPublic::Loopback);
        assert_eq!(
            literal.to_string(),
            "::ffff:127.0.0.1 is a loopback address"
        );
        let named = TargetRefused {
            name: Some("metadata.internal".to_owned()),
            address: "169.254.169.254".parse().unwrap(),
            reason: NonPublic::LinkLocal,
        };
        assert_eq!(
            named.to_string(),
            "metadata.internal resolves to 169.254.169.254, a link-local address"
        );
    }

    #[test]
    fn literal_addresses_are_read_as_the_url_parser_reads_them() {
        // Decimal and hexadecimal IPv4 hosts are 127.0.0.1 to the client too.
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1:8080/",
            "http://[::1]:22/",
        ] {
            let refused = refusal_before_sending(url).unwrap();
            assert_eq!(refused.reason, NonPublic::Loopback, "{url}");
        }
        assert_eq!(refusal_before_sending("https://93.184.215.14/hook"), None);
        assert_eq!(refusal_before_sending("https://example.com/hook"), None);
    }

    #[tokio::test]
    async fn registration_refuses_private_targets_unless_allowed() {
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:5432/",
            "http://[::1]:22/",
            "http://localhost:8080/hooks",
        ] {
            let refused = check_registration(url, false).await;
            assert!(
                matches!(refused, Err(TargetError::NotPublic(_))),
                "{url}: {refused:?}"
            );
            assert!(check_registration(url, true).await.is_ok(), "{url}");
        }
        assert!(
            check_registration("https://93.184.215.14/hook", false)
                .await
                .is_ok()
        );
        // `.invalid` never resolves (RFC 6761): nothing can be checked.
        let unknown = check_registration("https://simgate-test.invalid/hook", false).await;
        assert!(
            matches!(unknown, Err(TargetError::Unresolvable { .. })),
            "{unknown:?}"
        );
        for url in ["not a url", "ftp://example.com/", "/relative", "http://"] {
            let invalid = check_registration(url, true).await;
            assert!(
                matches!(invalid, Err(TargetError::InvalidUrl { .. })),
                "{url}: {invalid:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_resolver_keeps_public_addresses_and_refuses_the_rest() {
        // Numeric names resolve without a network, as a DNS answer would.
        let kept: Vec<SocketAddr> = resolve_public("93.184.215.14".to_owned())
            .await
            .unwrap()
            .collect();
        assert_eq!(kept, ["93.184.215.14:0".parse::<SocketAddr>().unwrap()]);
        let Err(refused) = resolve_public("169.254.169.254".to_owned()).await else {
            panic!("169.254.169.254 was let through");
        };
        let refused = refused.downcast_ref::<TargetRefused>().unwrap();
        assert_eq!(refused.reason, NonPublic::LinkLocal);
    }

    #[tokio::test]
    async fn the_delivery_client_refuses_a_name_resolving_to_loopback() {
        let client = delivery_client(false).unwrap();
        let error = client
            .post("http://localhost:9/hooks")
            .send()
            .await
            .unwrap_err();
        let refused = refusal_in(&error).expect("refused by the resolver");
        assert_eq!(refused.name.as_deref(), Some("localhost"));
        assert_eq!(refused.reason, NonPublic::Loopback);
    }
}
