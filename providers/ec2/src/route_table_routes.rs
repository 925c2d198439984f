//! The inline `route` set of `aws_route_table` as the provider models it: every element an
//! object of the same thirteen strings, `""` for what is not set; one destination and one
//! target each; routes told apart by their destination, so a new target for the same
//! destination is a ReplaceRoute, not a delete and a create.

use aws_sdk_ec2::types::{Route, RouteOrigin};
use forge_provider::{
    AttrType, Attribute, BlockType, ProviderError, ProviderResult, Schema, Value,
};

/// The attributes naming where a route goes, in the provider's order of precedence.
pub const DESTINATIONS: [&str; 3] = [
    "cidr_block",
    "ipv6_cidr_block",
    "destination_prefix_list_id",
];

/// The attributes naming what a route goes through, in the provider's order.
pub const TARGETS: [&str; 10] = [
    "carrier_gateway_id",
    "core_network_arn",
    "egress_only_gateway_id",
    "gateway_id",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

/// The `route` block: every attribute an optional string, the blocks a set.
pub fn route_block() -> BlockType {
    let schema = route_attributes().fold(Schema::new(), |schema, name| {
        schema.attr(name, Attribute::optional(AttrType::String))
    });
    BlockType {
        schema,
        unordered: true,
        ..Default::default()
    }
}

/// Every attribute of a route element.
pub fn route_attributes() -> impl Iterator<Item = &'static str> {
    DESTINATIONS.iter().chain(TARGETS.iter()).copied()
}

/// A configured route element as the provider stores it: every attribute present, null
/// (or left out) written as `""`. Unknown parts stay unknown.
pub fn normalize_route(element: &Value) -> Value {
    Value::object(route_attributes().map(|name| {
        let v = match element.get(name) {
            None | Some(Value::Null) => Value::string(""),
            Some(v) => v.clone(),
        };
        (name, v)
    }))
}

/// Refuses a configured route element with an attribute routes do not have (a typo would
/// otherwise be dropped without a word).
pub fn check_route_names(element: &Value) -> ProviderResult<()> {
    let Some(m) = element.unmarked().as_map() else {
        return match element.unmarked() {
            Value::Unknown => Ok(()),
            other => Err(ProviderError::new(format!(
                "aws_route_table: each route is an object, not a {}",
                other.kind_name()
            ))
            .hint("write route = [{ cidr_block = \"...\", gateway_id = \"...\" }]")),
        };
    };
    for name in m.keys() {
        if !route_attributes().any(|a| a == name) {
            return Err(ProviderError::new(format!(
                "aws_route_table: a route has no attribute named `{name}`"
            ))
            .hint(format!(
                "a route takes {}",
                route_attributes().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

/// The configured `route` value with every element normalised; null and unknown pass.
pub fn normalize_routes(routes: &Value) -> Value {
    match routes {
        Value::Set(xs) | Value::List(xs) | Value::Tuple(xs) => {
            Value::set(xs.iter().map(normalize_route))
        }
        other => other.clone(),
    }
}

/// Refuses a known route element without exactly one destination and one target (the
/// provider fails the same way, but only half-way through the apply).
pub fn check_route(element: &Value) -> ProviderResult<()> {
    for (kind, names) in [("destination", &DESTINATIONS[..]), ("target", &TARGETS[..])] {
        let set: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| element.get(n).is_some_and(|v| !is_empty(v)))
            .collect();
        // An unknown value may still turn out empty: judged once known.
        if names
            .iter()
            .any(|n| element.get(n).is_some_and(Value::is_unknown))
        {
            continue;
        }
        if set.len() != 1 {
            return Err(ProviderError::new(format!(
                "aws_route_table: a route needs exactly one {kind}, this one has {}: {}",
                if set.is_empty() {
                    "none".to_string()
                } else {
                    set.join(", ")
                },
                element.to_json()
            ))
            .hint(format!("set exactly one of {}", names.join(", "))));
        }
    }
    Ok(())
}

/// The destination of a known route element: the attribute and its value.
pub fn destination_of(element: &Value) -> Option<(&'static str, &str)> {
    first_set(element, &DESTINATIONS)
}

/// The target of a known route element: the attribute and its value.
pub fn target_of(element: &Value) -> Option<(&'static str, &str)> {
    first_set(element, &TARGETS)
}

/// The route element the provider records for a route AWS reports, or `None` for the
/// routes it leaves out: the VPC's local routes, those propagated from a VPN gateway, and
/// a gateway endpoint's prefix-list routes (`aws_vpc_endpoint` manages those).
pub fn route_from_aws(route: &Route) -> Option<Value> {
    let gateway = route.gateway_id().unwrap_or_default();
    if gateway == "local" || gateway == "VpcLattice" {
        return None;
    }
    if route.origin() == Some(&RouteOrigin::EnableVgwRoutePropagation) {
        return None;
    }
    if route.destination_prefix_list_id().is_some() && gateway.starts_with("vpce-") {
        return None;
    }
    let (gateway_id, endpoint_id) = if gateway.starts_with("vpce-") {
        ("", gateway)
    } else {
        (gateway, "")
    };
    let pairs = [
        ("cidr_block", route.destination_cidr_block()),
        ("ipv6_cidr_block", route.destination_ipv6_cidr_block()),
        (
            "destination_prefix_list_id",
            route.destination_prefix_list_id(),
        ),
        ("carrier_gateway_id", route.carrier_gateway_id()),
        ("core_network_arn", route.core_network_arn()),
        (
            "egress_only_gateway_id",
            route.egress_only_internet_gateway_id(),
        ),
        ("gateway_id", Some(gateway_id)),
        ("local_gateway_id", route.local_gateway_id()),
        ("nat_gateway_id", route.nat_gateway_id()),
        ("network_interface_id", route.network_interface_id()),
        ("transit_gateway_id", route.transit_gateway_id()),
        ("vpc_endpoint_id", Some(endpoint_id)),
        (
            "vpc_peering_connection_id",
            route.vpc_peering_connection_id(),
        ),
    ];
    Some(Value::object(pairs.map(|(name, v)| {
        (name, Value::string(v.unwrap_or_default()))
    })))
}

/// What to do to turn the routes `had` into `wants`, as the provider does it: a route
/// whose destination is new is created, one whose destination stays but whose target
/// changes is replaced, one whose destination goes is deleted.
#[derive(Debug, Default, PartialEq)]
pub struct RouteChanges {
    pub create: Vec<Value>,
    pub replace: Vec<Value>,
    pub delete: Vec<Value>,
}

pub fn route_changes(had: &[Value], wants: &[Value]) -> RouteChanges {
    let mut changes = RouteChanges::default();
    for want in wants {
        match had
            .iter()
            .find(|h| destination_of(h) == destination_of(want))
        {
            None => changes.create.push(want.clone()),
            Some(h) if target_of(h) != target_of(want) => changes.replace.push(want.clone()),
            Some(_) => {}
        }
    }
    for h in had {
        if !wants.iter().any(|w| destination_of(w) == destination_of(h)) {
            changes.delete.push(h.clone());
        }
    }
    changes
}

fn is_empty(v: &Value) -> bool {
    matches!(v.unmarked(), Value::Null) || v.unmarked().as_str() == Some("")
}

fn first_set<'a>(element: &'a Value, names: &[&'static str]) -> Option<(&'static str, &'a str)> {
    names.iter().find_map(|n| {
        element
            .get(n)
            .and_then(|v| v.unmarked().as_str())
            .filter(|v| !v.is_empty())
            .map(|v| (*n, v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(pairs: &[(&str, &str)]) -> Value {
        normalize_route(&Value::object(
            pairs.iter().map(|(k, v)| (*k, Value::string(*v))),
        ))
    }

    #[test]
    fn a_configured_route_gets_every_attribute_with_empty_defaults() {
        let r = normalize_route(&Value::object([
            ("cidr_block", Value::string("0.0.0.0/0")),
            ("gateway_id", Value::string("igw-1")),
            ("nat_gateway_id", Value::Null),
        ]));
        let m = r.as_map().unwrap();
        assert_eq!(m.len(), 13);
        assert_eq!(r.str_attr("cidr_block"), Some("0.0.0.0/0"));
        assert_eq!(r.str_attr("nat_gateway_id"), Some(""));
        assert_eq!(r.str_attr("vpc_endpoint_id"), Some(""));
        // Unknown stays unknown: known only at apply.
        let later = normalize_route(&Value::object([("gateway_id", Value::Unknown)]));
        assert_eq!(later.get("gateway_id"), Some(&Value::Unknown));
        assert!(check_route(&later).is_err(), "no destination at all");
    }

    #[test]
    fn a_route_needs_one_destination_and_one_target() {
        assert!(
            check_route(&route(&[
                ("cidr_block", "10.0.0.0/8"),
                ("gateway_id", "igw-1")
            ]))
            .is_ok()
        );
        let none = check_route(&route(&[("cidr_block", "10.0.0.0/8")])).unwrap_err();
        assert!(none.message.contains("exactly one target"), "{none:?}");
        let two = check_route(&route(&[
            ("cidr_block", "10.0.0.0/8"),
            ("gateway_id", "igw-1"),
            ("nat_gateway_id", "nat-1"),
        ]))
        .unwrap_err();
        assert!(
            two.message.contains("gateway_id, nat_gateway_id"),
            "{two:?}"
        );
        let unknown_target = normalize_route(&Value::object([
            ("cidr_block", Value::string("10.0.0.0/8")),
            ("gateway_id", Value::Unknown),
        ]));
        assert!(check_route(&unknown_target).is_ok());
    }

    #[test]
    fn a_misspelt_route_attribute_is_refused() {
        let typo = Value::object([
            ("cidr_blok", Value::string("10.0.0.0/8")),
            ("gateway_id", Value::string("igw-1")),
        ]);
        let e = check_route_names(&typo).unwrap_err();
        assert!(e.message.contains("`cidr_blok`"), "{e:?}");
        assert!(check_route_names(&Value::string("x")).is_err());
        assert!(check_route_names(&Value::Unknown).is_ok());
    }

    #[test]
    fn changes_go_by_destination() {
        let a = route(&[("cidr_block", "10.1.0.0/16"), ("gateway_id", "igw-1")]);
        let b = route(&[("cidr_block", "10.2.0.0/16"), ("gateway_id", "igw-1")]);
        let b2 = route(&[("cidr_block", "10.2.0.0/16"), ("nat_gateway_id", "nat-1")]);
        let c = route(&[("ipv6_cidr_block", "::/0"), ("gateway_id", "igw-1")]);
        let changes = route_changes(&[a.clone(), b], &[b2.clone(), c.clone()]);
        assert_eq!(
            changes,
            RouteChanges {
                create: vec![c],
                replace: vec![b2],
                delete: vec![a.clone()],
            }
        );
        assert_eq!(
            route_changes(std::slice::from_ref(&a), std::slice::from_ref(&a)),
            RouteChanges::default()
        );
    }

    #[test]
    fn aws_routes_read_as_the_provider_records_them() {
        let local = Route::builder()
            .destination_cidr_block("10.0.0.0/16")
            .gateway_id("local")
            .build();
        assert_eq!(route_from_aws(&local), None);
        let propagated = Route::builder()
            .destination_cidr_block("172.16.0.0/12")
            .gateway_id("vgw-1")
            .origin(RouteOrigin::EnableVgwRoutePropagation)
            .build();
        assert_eq!(route_from_aws(&propagated), None);
        let endpoint = Route::builder()
            .destination_cidr_block("10.9.0.0/16")
            .gateway_id("vpce-1")
            .build();
        let r = route_from_aws(&endpoint).unwrap();
        assert_eq!(r.str_attr("vpc_endpoint_id"), Some("vpce-1"));
        assert_eq!(r.str_attr("gateway_id"), Some(""));
        let internet = Route::builder()
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id("igw-1")
            .origin(RouteOrigin::CreateRoute)
            .build();
        assert_eq!(
            route_from_aws(&internet).unwrap(),
            route(&[("cidr_block", "0.0.0.0/0"), ("gateway_id", "igw-1")])
        );
    }
}
