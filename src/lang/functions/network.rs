//! CIDR arithmetic (`cidrsubnet`, `cidrhost`, ...) for IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use forge_provider::Value;

use super::{Args, FnError, FnResult};

/// A network: its address as a 128-bit number, its prefix length and the address width.
struct Net {
    addr: u128,
    prefix: u32,
    bits: u32,
}

fn parse_cidr(s: &str, arg: usize) -> Result<Net, FnError> {
    let bad = || {
        FnError::new(format!("invalid CIDR address \"{s}\""))
            .arg(arg)
            .hint("write an address and prefix length, such as \"10.0.0.0/16\"")
    };
    let (ip, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    let (addr, bits) = match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    if prefix > bits {
        return Err(bad());
    }
    Ok(Net {
        addr: addr & mask(prefix, bits),
        prefix,
        bits,
    })
}

fn mask(prefix: u32, bits: u32) -> u128 {
    let all = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if prefix == 0 {
        0
    } else {
        all & !((1u128 << (bits - prefix)) - 1).min(all)
    }
}

fn addr_text(addr: u128, bits: u32) -> String {
    if bits == 32 {
        Ipv4Addr::from(addr as u32).to_string()
    } else {
        Ipv6Addr::from(addr).to_string()
    }
}

fn subnet(net: &Net, newbits: i64, num: i64) -> Result<Net, FnError> {
    let prefix = net.prefix as i64 + newbits;
    if prefix < 0 {
        return Err(FnError::new(format!(
            "cannot shorten a prefix of {} by {}",
            net.prefix, -newbits
        ))
        .arg(1));
    }
    if prefix > net.bits as i64 {
        return Err(FnError::new(format!(
            "insufficient address space to extend prefix of {} by {newbits}",
            net.prefix
        ))
        .arg(1));
    }
    let prefix = prefix as u32;
    if num < 0 || (newbits < 64 && num as u128 >= (1u128 << newbits.max(0))) {
        return Err(FnError::new(format!(
            "prefix extension of {newbits} does not accommodate a subnet numbered {num}"
        ))
        .arg(2));
    }
    // A shift by the full 128 bits (an IPv6 /0 network) would overflow: nothing to add.
    let offset = (num as u128).checked_shl(net.bits - prefix).unwrap_or(0);
    let addr = (net.addr & mask(prefix, net.bits)) | offset;
    Ok(Net {
        addr,
        prefix,
        bits: net.bits,
    })
}

pub(super) fn cidrsubnet(a: Args) -> FnResult {
    let a = a.arity(3, 3)?;
    let net = parse_cidr(&a.string(0)?, 0)?;
    let s = subnet(&net, a.int(1)?, a.int(2)?)?;
    Ok(Value::String(format!(
        "{}/{}",
        addr_text(s.addr, s.bits),
        s.prefix
    )))
}

pub(super) fn cidrsubnets(a: Args) -> FnResult {
    let a = a.arity(1, usize::MAX)?;
    let net = parse_cidr(&a.string(0)?, 0)?;
    let mut out = Vec::new();
    // Each subnet starts at the next free address aligned to its own size. Arithmetic
    // is checked: an IPv6 network can end exactly at 2^128.
    let host_bits = net.bits - net.prefix;
    let last = net.addr | 1u128.checked_shl(host_bits).map_or(u128::MAX, |x| x - 1);
    let mut next: Option<u128> = Some(net.addr);
    for i in 1..a.v.len() {
        let newbits = a.int(i)?;
        let prefix = net.prefix as i64 + newbits;
        if newbits < 1 || prefix > net.bits as i64 {
            return Err(
                FnError::new(format!("cannot extend prefix {} by {newbits}", net.prefix)).arg(i),
            );
        }
        let size = 1u128 << (net.bits - prefix as u32);
        let start = next.and_then(|n| n.div_ceil(size).checked_mul(size));
        let end = start
            .and_then(|s| s.checked_add(size - 1))
            .filter(|e| *e <= last);
        let (Some(start), Some(end)) = (start, end) else {
            return Err(FnError::new(format!(
                "not enough remaining address space for a subnet with a prefix of {prefix} bits"
            ))
            .arg(i));
        };
        out.push(Value::String(format!(
            "{}/{prefix}",
            addr_text(start, net.bits)
        )));
        next = end.checked_add(1);
    }
    Ok(Value::List(out))
}

pub(super) fn cidrhost(a: Args) -> FnResult {
    let a = a.arity(2, 2)?;
    let net = parse_cidr(&a.string(0)?, 0)?;
    let num = a.int(1)?;
    let host_bits = net.bits - net.prefix;
    let size: i128 = if host_bits >= 127 {
        i128::MAX
    } else {
        1i128 << host_bits
    };
    let n = num as i128;
    if n >= size || -n > size {
        return Err(FnError::new(format!(
            "prefix of {} does not accommodate a host numbered {num}",
            net.prefix
        ))
        .arg(1));
    }
    let offset = if n < 0 { size + n } else { n } as u128;
    Ok(Value::String(addr_text(net.addr + offset, net.bits)))
}

pub(super) fn cidrnetmask(a: Args) -> FnResult {
    let a = a.arity(1, 1)?;
    let net = parse_cidr(&a.string(0)?, 0)?;
    if net.bits != 32 {
        return Err(FnError::new("only IPv4 networks have a netmask").arg(0));
    }
    Ok(Value::String(addr_text(mask(net.prefix, 32), 32)))
}
