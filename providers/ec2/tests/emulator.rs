//! The EC2 resource types and data sources against LocalStack: create, read back, a
//! second plan that changes nothing, a change made outside forge that read reports, the
//! repairing update, import, delete and read -> None.

#[path = "../../testkit/emulator_kit.rs"]
mod kit;

use std::sync::Arc;

use aws_sdk_ec2::types::{IpPermission, IpRange, Tag};
use forge_aws_common::AwsContext;
use forge_aws_ec2::instance::InstanceResource;
use forge_aws_ec2::key_pair::KeyPairResource;
use forge_aws_ec2::security_group::SecurityGroupType;
use forge_aws_ec2::sg_rules::atomize;
use forge_aws_ec2::user_data::user_data_hash;
use forge_aws_ec2::{ami::AmiDataSource, subnets, vpc::VpcDataSource};
use forge_provider::{DataSourceType, ResourceType, Value};
use kit::*;

/// An AMI that LocalStack 4.14 ships (Amazon Linux 2023, x86_64).
const AMI_OWNER: &str = "137112412989";
const AMI_NAME_PATTERN: &str = "al2023-ami-2023.*-kernel-6.1-x86_64";

/// A throwaway public key for the key pair tests (public keys are not secret).
const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1v7KARKi5k32QssHzs3/PdylxySVJZwsh1i0i+SM4n forge-test";

async fn sdk(ctx: &AwsContext) -> aws_sdk_ec2::Client {
    forge_aws_ec2::common::client(ctx)
}

fn rule(protocol: &str, from: f64, to: f64, cidrs: &[&str], description: Option<&str>) -> Value {
    Value::object([
        ("protocol", s(protocol)),
        ("from_port", Value::Number(from)),
        ("to_port", Value::Number(to)),
        ("cidr_blocks", strings(cidrs)),
        ("ipv6_cidr_blocks", Value::Null),
        ("prefix_list_ids", Value::Null),
        ("security_groups", Value::Null),
        ("self", Value::Null),
        ("description", description.map(s).unwrap_or(Value::Null)),
    ])
}

/// Plans and creates, checking the result agrees with the plan on what was known (the
/// script is planned as given and stored as its digest).
async fn create(ty: &dyn ResourceType, config: &Value) -> Value {
    let computed: Vec<&str> = ty
        .schema()
        .attributes
        .iter()
        .filter(|(_, a)| a.computed)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut except = vec!["user_data"];
    except.extend(computed);
    create_as_planned(ty, config, &except).await
}

fn rules_of(
    v: &Value,
    kind: &str,
) -> std::collections::BTreeSet<forge_aws_ec2::sg_rules::AtomicRule> {
    atomize(v.get(kind).and_then(Value::as_seq).unwrap_or(&[]), kind).expect("rules")
}

async fn default_vpc(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("is-default")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("describe vpcs");
    out.vpcs()[0].vpc_id().expect("vpc id").to_string()
}

#[tokio::test]
async fn security_group_lifecycle() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = SecurityGroupType::new(ctx.clone());
    let name = unique("forge-sg");
    let cfg = config(
        ty.schema(),
        vec![
            ("name", s(&name)),
            ("description", s("web servers")),
            (
                "ingress",
                Value::List(vec![
                    rule("tcp", 22.0, 22.0, &["10.0.0.0/8"], Some("ssh")),
                    rule("tcp", 443.0, 443.0, &["10.0.0.0/8", "192.168.0.0/16"], None),
                ]),
            ),
            (
                "egress",
                Value::List(vec![rule("-1", 0.0, 0.0, &["0.0.0.0/0"], None)]),
            ),
            ("tags", tags(&[("Name", &name), ("team", "web")])),
        ],
    );
    let state = create(&ty, &cfg).await;
    let id = state.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("sg-"), "{id}");
    assert!(
        state
            .str_attr("arn")
            .unwrap_or_default()
            .ends_with(&format!("security-group/{id}"))
    );
    assert_eq!(
        state.str_attr("vpc_id"),
        Some(default_vpc(&ec2).await.as_str())
    );
    assert_eq!(state.str_attr("owner_id"), Some("000000000000"));
    assert_eq!(rules_of(&state, "ingress").len(), 3);
    assert_eq!(rules_of(&state, "egress").len(), 1);

    // Read back: equal to what was created, and a second plan is a no-op.
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert!(
        live.same_as(&state),
        "read differs from create:\n{live:?}\n{state:?}"
    );
    assert_no_op(&ty, &live, &cfg);
    assert_stored_state_plans_no_op(&ty, &state, &cfg).await;

    // The same rules written in another order and grouping plan as no change.
    let regrouped = config(
        ty.schema(),
        vec![
            ("name", s(&name)),
            ("description", s("web servers")),
            (
                "ingress",
                Value::List(vec![
                    rule("6", 443.0, 443.0, &["192.168.0.0/16"], None),
                    rule("tcp", 443.0, 443.0, &["10.0.0.0/8"], None),
                    rule("tcp", 22.0, 22.0, &["10.0.0.0/8"], Some("ssh")),
                ]),
            ),
            (
                "egress",
                Value::List(vec![rule("all", 0.0, 0.0, &["0.0.0.0/0"], None)]),
            ),
            ("tags", tags(&[("Name", &name), ("team", "web")])),
        ],
    );
    assert_no_op(&ty, &live, &regrouped);

    // A rule and a tag changed outside forge show in the next read.
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .ip_ranges(IpRange::builder().cidr_ip("172.16.0.0/12").build())
                .build(),
        )
        .send()
        .await
        .expect("authorize outside forge");
    ec2.create_tags()
        .resources(&id)
        .tags(Tag::builder().key("team").value("ops").build())
        .send()
        .await
        .expect("tag");
    let drifted = ty.read(&state).await.expect("read").expect("exists");
    assert_eq!(
        rules_of(&drifted, "ingress").len(),
        4,
        "outside rule not reported: {:?}",
        drifted.get("ingress")
    );
    assert_eq!(
        drifted
            .get("tags")
            .and_then(|t| t.get("team"))
            .and_then(Value::as_str),
        Some("ops")
    );
    let plan = ty.plan(Some(&drifted), &cfg).expect("plan");
    assert!(plan.requires_replace.is_empty());
    assert!(!plan.planned.same_as(&drifted), "drift must plan a change");

    // The repairing update brings AWS back to the configuration.
    let repaired = ty.update(&drifted, &plan.planned).await.expect("update");
    let after = ty.read(&repaired).await.expect("read").expect("exists");
    assert_eq!(rules_of(&after, "ingress"), rules_of(&state, "ingress"));
    assert_eq!(
        after
            .get("tags")
            .and_then(|t| t.get("team"))
            .and_then(Value::as_str),
        Some("web")
    );
    assert_no_op(&ty, &after, &cfg);

    // A changed description on a rule and a removed rule are applied in place.
    let changed = config(
        ty.schema(),
        vec![
            ("name", s(&name)),
            ("description", s("web servers")),
            (
                "ingress",
                Value::List(vec![rule(
                    "tcp",
                    22.0,
                    22.0,
                    &["10.0.0.0/8"],
                    Some("admin ssh"),
                )]),
            ),
            (
                "egress",
                Value::List(vec![rule("-1", 0.0, 0.0, &["0.0.0.0/0"], None)]),
            ),
            ("tags", tags(&[("Name", &name), ("team", "web")])),
        ],
    );
    let plan = ty.plan(Some(&after), &changed).expect("plan");
    assert!(plan.requires_replace.is_empty());
    let updated = ty
        .update(&after, &plan.planned)
        .await
        .expect("update rules");
    let live = ty.read(&updated).await.expect("read").expect("exists");
    let ingress = rules_of(&live, "ingress");
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        ingress.iter().next().map(|r| r.description.as_str()),
        Some("admin ssh")
    );
    assert_no_op(&ty, &live, &changed);

    // A new description cannot be changed in place.
    let renamed = config(
        ty.schema(),
        vec![("name", s(&name)), ("description", s("other"))],
    );
    assert_eq!(
        ty.plan(Some(&live), &renamed)
            .expect("plan")
            .requires_replace,
        vec!["description".to_string()]
    );

    // Import by id gives the same state (rules compared by meaning).
    let imported = ty.import(&id).await.expect("import").expect("found");
    for attr in [
        "id",
        "arn",
        "name",
        "description",
        "vpc_id",
        "owner_id",
        "tags",
        "tags_all",
    ] {
        assert!(
            imported
                .get(attr)
                .unwrap_or(&Value::Null)
                .same_as(live.get(attr).unwrap_or(&Value::Null)),
            "{attr}"
        );
    }
    assert_eq!(rules_of(&imported, "ingress"), rules_of(&live, "ingress"));
    assert_eq!(rules_of(&imported, "egress"), rules_of(&live, "egress"));

    ty.delete(&live).await.expect("delete");
    assert_eq!(ty.read(&live).await.expect("read after delete"), None);
    ty.delete(&live)
        .await
        .expect("deleting a deleted group succeeds");
}

#[tokio::test]
async fn security_group_without_egress_drops_the_default_rule_and_supports_self() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = SecurityGroupType::new(ctx.clone());
    let mut self_rule = rule("tcp", 0.0, 65535.0, &[], Some("cluster"));
    forge_aws_ec2::common::set_attr(&mut self_rule, "self", Value::Bool(true));
    let cfg = config(
        ty.schema(),
        vec![
            ("name_prefix", s("forge-sgp-")),
            ("ingress", Value::List(vec![self_rule])),
            ("revoke_rules_on_delete", Value::Bool(true)),
        ],
    );
    let state = create(&ty, &cfg).await;
    let id = state.str_attr("id").expect("id").to_string();
    assert!(
        state
            .str_attr("name")
            .unwrap_or_default()
            .starts_with("forge-sgp-")
    );
    assert_eq!(state.str_attr("description"), Some("Managed by Terraform"));
    let sg = ec2
        .describe_security_groups()
        .group_ids(&id)
        .send()
        .await
        .expect("describe");
    let sg = &sg.security_groups()[0];
    assert!(
        sg.ip_permissions_egress().is_empty(),
        "default egress still there: {:?}",
        sg.ip_permissions_egress()
    );
    assert_eq!(
        sg.ip_permissions()[0].user_id_group_pairs()[0].group_id(),
        Some(id.as_str())
    );
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert!(live.same_as(&state));
    assert_eq!(
        live.get("ingress")
            .and_then(Value::as_seq)
            .map(|r| r[0].get("self").cloned()),
        Some(Some(Value::Bool(true)))
    );
    assert_no_op(&ty, &live, &cfg);
    ty.delete(&live).await.expect("delete");
    assert_eq!(ty.read(&live).await.expect("read"), None);
}

#[tokio::test]
async fn security_group_errors_name_the_problem() {
    let ctx = context().await;
    let ty = SecurityGroupType::new(ctx.clone());
    let cfg = config(
        ty.schema(),
        vec![
            ("name", s("x")),
            (
                "ingress",
                Value::List(vec![rule("tcp", 22.0, 22.0, &[], None)]),
            ),
        ],
    );
    let err = ty.plan(None, &cfg).expect_err("a rule without a source");
    assert!(err.message.contains("ingress rule #1"), "{err}");
    let both = config(ty.schema(), vec![("name", s("x")), ("name_prefix", s("y"))]);
    assert!(
        ty.plan(None, &both)
            .expect_err("conflict")
            .message
            .contains("name_prefix")
    );

    // A name already taken in the VPC: AWS's code, and a hint naming the group.
    let name = unique("forge-dup");
    let cfg = config(ty.schema(), vec![("name", s(&name))]);
    let first = create(&ty, &cfg).await;
    let plan = ty.plan(None, &cfg).expect("plan");
    let err = ty.create(&plan.planned).await.expect_err("duplicate name");
    assert_eq!(err.code.as_deref(), Some("InvalidGroup.Duplicate"), "{err}");
    assert!(
        err.hint.as_deref().unwrap_or_default().contains(&name),
        "{err}"
    );
    ty.delete(&first).await.expect("delete");

    // Rules AWS refuses: the error names the rules, and no half-made group is left behind.
    let name = unique("forge-badrule");
    let mut bad = rule("tcp", 80.0, 80.0, &[], None);
    forge_aws_ec2::common::set_attr(
        &mut bad,
        "security_groups",
        Value::Set(vec![s("sg-00000000000000000")]),
    );
    let cfg = config(
        ty.schema(),
        vec![("name", s(&name)), ("ingress", Value::List(vec![bad]))],
    );
    let plan = ty.plan(None, &cfg).expect("plan");
    let err = ty
        .create(&plan.planned)
        .await
        .expect_err("unknown source group");
    assert_eq!(err.code.as_deref(), Some("InvalidGroup.NotFound"), "{err}");
    assert!(
        err.message.contains("ingress") && err.message.contains("deleted again"),
        "{err}"
    );
    let ec2 = sdk(&ctx).await;
    let left = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(&name)
                .build(),
        )
        .send()
        .await
        .expect("describe");
    assert!(
        left.security_groups().is_empty(),
        "the failed group was left behind"
    );
}

#[tokio::test]
async fn key_pair_lifecycle() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = KeyPairResource::new(ctx.clone());
    let name = unique("forge-key");
    let cfg = config(
        ty.schema(),
        vec![
            ("key_name", s(&name)),
            ("public_key", s(PUBLIC_KEY)),
            ("tags", tags(&[("owner", "ops")])),
        ],
    );
    // EC2 hands the public key back without its comment: compared by meaning below.
    let cycle = Lifecycle::new(&ty, cfg.clone()).ignoring_on_import(&["public_key"]);
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(name.as_str()));
    assert!(live.str_attr("fingerprint").is_some_and(|f| !f.is_empty()));
    assert!(
        live.str_attr("key_pair_id")
            .is_some_and(|k| k.starts_with("key-"))
    );
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!("key-pair/{name}")))
    );

    // A tag removed outside forge shows in the read; the update puts it back.
    let untag = ec2
        .delete_tags()
        .resources(live.str_attr("key_pair_id").expect("key id"))
        .tags(Tag::builder().key("owner").build());
    let after = cycle
        .drift_and_repair(
            &live,
            async { untag.send().await.map(|_| ()).expect("untag") },
            |drifted| {
                assert!(
                    drifted.get("tags").and_then(|t| t.get("owner")).is_none(),
                    "{drifted:?}"
                )
            },
        )
        .await;

    // Another key under the same name means replacement.
    let other = config(
        ty.schema(),
        vec![
            ("key_name", s(&name)),
            ("public_key", s("ssh-ed25519 AAAAother")),
        ],
    );
    assert_eq!(
        ty.plan(Some(&after), &other)
            .expect("plan")
            .requires_replace,
        vec!["public_key".to_string()]
    );

    let imported = cycle.import(&name, &after).await;
    assert!(
        imported
            .str_attr("public_key")
            .is_some_and(|k| forge_aws_ec2::key_pair::same_public_key(k, PUBLIC_KEY))
    );
    cycle.delete(&after).await;
}

async fn find_ami(ctx: &Arc<AwsContext>) -> Value {
    let ds = AmiDataSource::new(ctx.clone());
    let filter = Value::object([
        ("name", s("name")),
        ("values", strings(&[AMI_NAME_PATTERN])),
    ]);
    let cfg = config(
        ds.schema(),
        vec![
            ("owners", strings(&[AMI_OWNER])),
            ("most_recent", Value::Bool(true)),
            ("filter", Value::List(vec![filter])),
        ],
    );
    ds.read(&cfg).await.expect("aws_ami")
}

#[tokio::test]
async fn ami_data_source_finds_a_localstack_image() {
    let ctx = context().await;
    let ami = find_ami(&ctx).await;
    assert!(ami.str_attr("id").is_some_and(|i| i.starts_with("ami-")));
    assert_eq!(ami.str_attr("id"), ami.str_attr("image_id"));
    assert!(
        ami.str_attr("name")
            .is_some_and(|n| n.starts_with("al2023-ami-2023")),
        "{ami:?}"
    );
    assert_eq!(ami.str_attr("architecture"), Some("x86_64"));
    assert_eq!(ami.str_attr("owner_id"), Some(AMI_OWNER));
    assert!(ami.str_attr("creation_date").is_some());

    // The owner alias real configurations use finds the same image.
    let ds = AmiDataSource::new(ctx.clone());
    let filter = Value::object([
        ("name", s("name")),
        ("values", strings(&[AMI_NAME_PATTERN])),
    ]);
    let by_alias = config(
        ds.schema(),
        vec![
            ("owners", strings(&["amazon"])),
            ("most_recent", Value::Bool(true)),
            ("filter", Value::List(vec![filter])),
        ],
    );
    assert_eq!(
        ds.read(&by_alias)
            .await
            .expect("owners = amazon")
            .str_attr("id"),
        ami.str_attr("id")
    );

    let cfg = config(
        ds.schema(),
        vec![
            ("owners", strings(&[AMI_OWNER])),
            ("name_regex", s("^no-such-image-")),
        ],
    );
    let err = ds.read(&cfg).await.expect_err("no match");
    assert!(err.message.contains("no results"), "{err}");
    let cfg = config(
        ds.schema(),
        vec![
            ("owners", strings(&[AMI_OWNER])),
            ("name_regex", s("^al2023-ami-")),
        ],
    );
    let err = ds
        .read(&cfg)
        .await
        .expect_err("several matches without most_recent");
    assert!(err.hint.unwrap_or_default().contains("most_recent"));
}

#[tokio::test]
async fn vpc_and_subnet_data_sources() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let vpc_id = default_vpc(&ec2).await;
    let ds = VpcDataSource::new(ctx.clone());
    let vpc = ds
        .read(&config(ds.schema(), vec![("default", Value::Bool(true))]))
        .await
        .expect("default vpc");
    assert_eq!(vpc.str_attr("id"), Some(vpc_id.as_str()));
    assert_eq!(vpc.get("default"), Some(&Value::Bool(true)));
    assert!(vpc.str_attr("cidr_block").is_some_and(|c| c.contains('/')));
    assert!(
        vpc.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!("vpc/{vpc_id}")))
    );
    assert_eq!(vpc.str_attr("owner_id"), Some("000000000000"));
    let by_id = ds
        .read(&config(ds.schema(), vec![("id", s(&vpc_id))]))
        .await
        .expect("by id");
    assert!(by_id.same_as(&vpc));
    let missing = ds
        .read(&config(
            ds.schema(),
            vec![("tags", tags(&[("Name", &unique("none"))]))],
        ))
        .await;
    assert!(missing.expect_err("no vpc").message.contains("no VPC"));

    let ids_ds = subnets::SubnetsDataSource::new(ctx.clone());
    let filter = Value::object([("name", s("vpc-id")), ("values", strings(&[&vpc_id]))]);
    let found = ids_ds
        .read(&config(
            ids_ds.schema(),
            vec![("filter", Value::List(vec![filter]))],
        ))
        .await
        .expect("subnets");
    let ids = found
        .get("ids")
        .and_then(Value::as_seq)
        .expect("ids")
        .to_vec();
    assert!(!ids.is_empty());
    let one_ds = subnets::SubnetDataSource::new(ctx.clone());
    let first = ids[0].as_str().expect("id");
    let subnet = one_ds
        .read(&config(one_ds.schema(), vec![("id", s(first))]))
        .await
        .expect("subnet");
    assert_eq!(subnet.str_attr("vpc_id"), Some(vpc_id.as_str()));
    assert!(
        subnet
            .str_attr("availability_zone")
            .is_some_and(|az| az.starts_with("us-east-1"))
    );
    let many = one_ds
        .read(&config(one_ds.schema(), vec![("vpc_id", s(&vpc_id))]))
        .await;
    if ids.len() > 1 {
        assert!(
            many.expect_err("several subnets")
                .message
                .contains("not one")
        );
    }
}

#[tokio::test]
async fn instance_lifecycle() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ami = find_ami(&ctx).await;
    let ami_id = ami.str_attr("id").expect("ami").to_string();
    let sg_ty = SecurityGroupType::new(ctx.clone());
    let sg_a = create(
        &sg_ty,
        &config(sg_ty.schema(), vec![("name", s(&unique("forge-inst-a")))]),
    )
    .await;
    let sg_b = create(
        &sg_ty,
        &config(sg_ty.schema(), vec![("name", s(&unique("forge-inst-b")))]),
    )
    .await;
    let sg_a_id = sg_a.str_attr("id").expect("sg").to_string();
    let sg_b_id = sg_b.str_attr("id").expect("sg").to_string();
    let key_ty = KeyPairResource::new(ctx.clone());
    let key = create(
        &key_ty,
        &config(
            key_ty.schema(),
            vec![
                ("key_name", s(&unique("forge-ikey"))),
                ("public_key", s(PUBLIC_KEY)),
            ],
        ),
    )
    .await;

    let ty = InstanceResource::new(ctx.clone());
    let script = "#!/bin/sh\necho hello from forge\n";
    let name = unique("forge-web");
    let cfg = config(
        ty.schema(),
        vec![
            ("ami", s(&ami_id)),
            ("instance_type", s("t3.micro")),
            ("vpc_security_group_ids", Value::Set(vec![s(&sg_a_id)])),
            ("key_name", s(key.str_attr("id").expect("key"))),
            ("user_data", s(script)),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let state = create(&ty, &cfg).await;
    let id = state.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("i-"));
    assert_eq!(state.str_attr("instance_state"), Some("running"));
    assert_eq!(state.str_attr("ami"), Some(ami_id.as_str()));
    assert_eq!(
        state.str_attr("user_data"),
        Some(user_data_hash(script).as_str()),
        "state keeps the digest"
    );
    assert!(
        state
            .str_attr("private_ip")
            .is_some_and(|ip| !ip.is_empty())
    );
    assert!(
        state
            .str_attr("subnet_id")
            .is_some_and(|s| s.starts_with("subnet-"))
    );
    assert!(
        state
            .str_attr("availability_zone")
            .is_some_and(|az| az.starts_with("us-east-1"))
    );
    assert!(
        state
            .str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!("instance/{id}")))
    );

    let live = ty.read(&state).await.expect("read").expect("exists");
    assert!(live.same_as(&state), "{live:?}\n{state:?}");
    assert_no_op(&ty, &live, &cfg);
    assert_stored_state_plans_no_op(&ty, &state, &cfg).await;

    // Security groups and a tag changed outside forge show as drift and are repaired.
    ec2.modify_instance_attribute()
        .instance_id(&id)
        .groups(&sg_b_id)
        .send()
        .await
        .expect("modify outside forge");
    ec2.create_tags()
        .resources(&id)
        .tags(Tag::builder().key("Name").value("renamed").build())
        .send()
        .await
        .expect("tag");
    let drifted = ty.read(&state).await.expect("read").expect("exists");
    assert_eq!(
        drifted.get("vpc_security_group_ids"),
        Some(&Value::Set(vec![s(&sg_b_id)]))
    );
    assert_eq!(
        drifted
            .get("tags")
            .and_then(|t| t.get("Name"))
            .and_then(Value::as_str),
        Some("renamed")
    );
    let plan = ty.plan(Some(&drifted), &cfg).expect("plan");
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    let repaired = ty.update(&drifted, &plan.planned).await.expect("update");
    let after = ty.read(&repaired).await.expect("read").expect("exists");
    assert!(after.same_as(&state), "{after:?}\n{state:?}");

    // instance_type changes in place (stop, modify, start); the script and the AMI force replacement.
    let mut bigger = cfg.clone();
    forge_aws_ec2::common::set_attr(&mut bigger, "instance_type", s("t3.small"));
    let plan = ty.plan(Some(&after), &bigger).expect("plan");
    assert!(plan.requires_replace.is_empty());
    let resized = ty.update(&after, &plan.planned).await.expect("resize");
    assert_eq!(resized.str_attr("instance_type"), Some("t3.small"));
    assert_eq!(resized.str_attr("instance_state"), Some("running"));
    assert_eq!(resized.str_attr("id"), Some(id.as_str()));
    let live = ty.read(&resized).await.expect("read").expect("exists");
    assert_no_op(&ty, &live, &bigger);
    let mut rescripted = bigger.clone();
    forge_aws_ec2::common::set_attr(&mut rescripted, "user_data", s("#!/bin/sh\necho changed\n"));
    assert_eq!(
        ty.plan(Some(&live), &rescripted)
            .expect("plan")
            .requires_replace,
        vec!["user_data".to_string()]
    );

    let imported = ty.import(&id).await.expect("import").expect("found");
    assert!(imported.same_as(&live), "{imported:?}\n{live:?}");

    ty.delete(&live).await.expect("terminate");
    assert_eq!(ty.read(&live).await.expect("read"), None);
    ty.delete(&live).await.expect("second delete");

    for sg in [&sg_a, &sg_b] {
        sg_ty.delete(sg).await.expect("delete group");
    }
    key_ty.delete(&key).await.expect("delete key");
}

#[tokio::test]
async fn instance_terminated_outside_forge_reads_as_gone() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ami = find_ami(&ctx).await;
    let ty = InstanceResource::new(ctx.clone());
    let cfg = config(
        ty.schema(),
        vec![
            ("ami", s(ami.str_attr("id").expect("ami"))),
            ("instance_type", s("t3.micro")),
        ],
    );
    let state = create(&ty, &cfg).await;
    let id = state.str_attr("id").expect("id").to_string();
    assert!(state.get("user_data").is_some_and(Value::is_null));
    ec2.terminate_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("terminate outside forge");
    assert_eq!(
        ty.read(&state).await.expect("read"),
        None,
        "a terminated instance reads as gone"
    );
    ty.delete(&state)
        .await
        .expect("delete of a terminated instance succeeds");
}

#[tokio::test]
async fn instance_profile_is_associated_and_replaced_in_place() {
    let ctx = context().await;
    let iam = aws_sdk_iam::Client::new(&ctx.sdk);
    let mut profiles = Vec::new();
    for _ in 0..2 {
        let name = unique("forge-prof");
        iam.create_instance_profile()
            .instance_profile_name(&name)
            .send()
            .await
            .expect("create instance profile");
        profiles.push(name);
    }
    let ami = find_ami(&ctx).await;
    let ty = InstanceResource::new(ctx.clone());
    let with = |profile: Option<&str>| {
        config(
            ty.schema(),
            vec![
                ("ami", s(ami.str_attr("id").expect("ami"))),
                ("instance_type", s("t3.micro")),
                (
                    "iam_instance_profile",
                    profile.map(s).unwrap_or(Value::Null),
                ),
            ],
        )
    };
    let state = create(&ty, &with(Some(&profiles[0]))).await;
    assert_eq!(
        state.str_attr("iam_instance_profile"),
        Some(profiles[0].as_str())
    );
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert_no_op(&ty, &live, &with(Some(&profiles[0])));

    let plan = ty
        .plan(Some(&live), &with(Some(&profiles[1])))
        .expect("plan");
    assert!(plan.requires_replace.is_empty());
    let replaced = ty
        .update(&live, &plan.planned)
        .await
        .expect("replace profile");
    assert_eq!(
        replaced.str_attr("iam_instance_profile"),
        Some(profiles[1].as_str())
    );
    assert_eq!(replaced.str_attr("id"), state.str_attr("id"));

    // Left out of the configuration, the profile stays (the argument is optional and
    // computed, as in the provider); `""` removes it.
    let plan = ty.plan(Some(&replaced), &with(None)).expect("plan");
    assert_eq!(
        plan.planned.str_attr("iam_instance_profile"),
        Some(profiles[1].as_str())
    );
    let plan = ty.plan(Some(&replaced), &with(Some(""))).expect("plan");
    let removed = ty
        .update(&replaced, &plan.planned)
        .await
        .expect("remove profile");
    assert_eq!(
        removed.str_attr("iam_instance_profile"),
        Some(""),
        "{removed:?}"
    );

    ty.delete(&removed).await.expect("terminate");
    for name in profiles {
        iam.delete_instance_profile()
            .instance_profile_name(&name)
            .send()
            .await
            .expect("delete instance profile");
    }
}

#[tokio::test]
async fn instance_user_data_changed_outside_forge_plans_replacement() {
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ami = find_ami(&ctx).await;
    let ty = InstanceResource::new(ctx.clone());
    let script = "#!/bin/sh\necho one\n";
    let cfg = config(
        ty.schema(),
        vec![
            ("ami", s(ami.str_attr("id").expect("ami"))),
            ("instance_type", s("t3.micro")),
            ("user_data", s(script)),
        ],
    );
    let state = create(&ty, &cfg).await;
    let id = state.str_attr("id").expect("id").to_string();
    ec2.stop_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("stop");
    // LocalStack wants the blob's content to be base64 already (real EC2 takes the raw
    // script and the SDK encodes it).
    use base64::Engine;
    let two_base64 = base64::engine::general_purpose::STANDARD.encode("#!/bin/sh\necho two\n");
    ec2.modify_instance_attribute()
        .instance_id(&id)
        .user_data(
            aws_sdk_ec2::types::SecureBlobAttributeValue::builder()
                .value(aws_sdk_ec2::primitives::Blob::new(two_base64))
                .build(),
        )
        .send()
        .await
        .expect("modify user data outside forge");
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert_eq!(
        live.str_attr("user_data"),
        Some(user_data_hash("#!/bin/sh\necho two\n").as_str())
    );
    assert_eq!(live.str_attr("instance_state"), Some("stopped"));
    let plan = ty.plan(Some(&live), &cfg).expect("plan");
    assert_eq!(plan.requires_replace, vec!["user_data".to_string()]);
    ty.delete(&live).await.expect("terminate");
    assert_eq!(ty.read(&live).await.expect("read"), None);
}

#[tokio::test]
async fn default_tags_reach_aws_but_stay_out_of_tags() {
    let ctx = context_with_default_tags(&[("env", "test"), ("team", "platform")]).await;
    let ec2 = sdk(&ctx).await;
    let ty = SecurityGroupType::new(ctx.clone());
    let cfg = config(
        ty.schema(),
        vec![
            ("name", s(&unique("forge-dt"))),
            ("tags", tags(&[("team", "web")])),
        ],
    );
    let plan = ty.plan(None, &cfg).expect("plan");
    let want_all = tags(&[("env", "test"), ("team", "web")]);
    assert!(
        plan.planned
            .get("tags_all")
            .is_some_and(|t| t.same_as(&want_all)),
        "{:?}",
        plan.planned.get("tags_all")
    );
    let state = create(&ty, &cfg).await;
    assert!(
        state
            .get("tags")
            .is_some_and(|t| t.same_as(&tags(&[("team", "web")]))),
        "{:?}",
        state.get("tags")
    );
    assert!(state.get("tags_all").is_some_and(|t| t.same_as(&want_all)));
    let id = state.str_attr("id").expect("id");
    let sg = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .expect("describe");
    assert_eq!(sg.security_groups()[0].tags().len(), 2);
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert!(live.same_as(&state), "{live:?}\n{state:?}");
    assert_no_op(&ty, &live, &cfg);
    ty.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn instance_root_volume_public_address_and_monitoring() {
    let ctx = context().await;
    let ami = find_ami(&ctx).await;
    let ty = InstanceResource::new(ctx.clone());
    let root = |size: f64, encrypted: bool| {
        Value::List(vec![Value::object([
            ("volume_size", Value::Number(size)),
            ("volume_type", s("gp3")),
            ("encrypted", Value::Bool(encrypted)),
            ("iops", Value::Null),
            ("throughput", Value::Null),
            ("delete_on_termination", Value::Null),
            ("volume_id", Value::Null),
            ("device_name", Value::Null),
        ])])
    };
    let cfg_with = |size: f64, encrypted: bool| {
        config(
            ty.schema(),
            vec![
                ("ami", s(ami.str_attr("id").expect("ami"))),
                ("instance_type", s("t3.micro")),
                ("monitoring", Value::Bool(true)),
                ("associate_public_ip_address", Value::Bool(true)),
                ("root_block_device", root(size, encrypted)),
            ],
        )
    };
    let cfg = cfg_with(20.0, true);
    let state = create(&ty, &cfg).await;
    let volume = state
        .get("root_block_device")
        .and_then(Value::as_seq)
        .and_then(|r| r.first())
        .cloned()
        .expect("root volume");
    assert_eq!(volume.get("volume_size"), Some(&Value::Number(20.0)));
    assert_eq!(volume.str_attr("volume_type"), Some("gp3"));
    assert_eq!(volume.get("encrypted"), Some(&Value::Bool(true)));
    assert_eq!(
        volume.get("delete_on_termination"),
        Some(&Value::Bool(true))
    );
    assert!(
        volume
            .str_attr("volume_id")
            .is_some_and(|v| v.starts_with("vol-"))
    );
    assert_eq!(state.get("monitoring"), Some(&Value::Bool(true)));
    assert_eq!(
        state.get("associate_public_ip_address"),
        Some(&Value::Bool(true))
    );
    assert!(state.str_attr("public_ip").is_some_and(|ip| !ip.is_empty()));
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert!(live.same_as(&state), "{live:?}\n{state:?}");
    assert_no_op(&ty, &live, &cfg);

    // A bigger root volume is an in-place change; encryption is not.
    let bigger = cfg_with(30.0, true);
    let plan = ty.plan(Some(&live), &bigger).expect("plan");
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    let grown = ty
        .update(&live, &plan.planned)
        .await
        .expect("grow the root volume");
    let volume = grown
        .get("root_block_device")
        .and_then(Value::as_seq)
        .and_then(|r| r.first())
        .cloned()
        .expect("root");
    assert_eq!(volume.get("volume_size"), Some(&Value::Number(30.0)));
    assert_no_op(&ty, &grown, &bigger);
    let plan = ty.plan(Some(&grown), &cfg_with(30.0, false)).expect("plan");
    assert_eq!(plan.requires_replace, vec!["root_block_device".to_string()]);

    // Monitoring changes in place (LocalStack 4.14 does not implement
    // UnmonitorInstances, so only the plan is checked here).
    let mut quiet = bigger.clone();
    forge_aws_ec2::common::set_attr(&mut quiet, "monitoring", Value::Bool(false));
    let plan = ty.plan(Some(&grown), &quiet).expect("plan");
    assert!(plan.requires_replace.is_empty());
    assert_eq!(plan.planned.get("monitoring"), Some(&Value::Bool(false)));
    let quieted = grown;

    let imported = ty
        .import(state.str_attr("id").expect("id"))
        .await
        .expect("import")
        .expect("found");
    assert!(
        imported
            .get("root_block_device")
            .is_some_and(|r| r.same_as(quieted.get("root_block_device").unwrap_or(&Value::Null)))
    );
    ty.delete(&quieted).await.expect("terminate");
    assert_eq!(ty.read(&quieted).await.expect("read"), None);
}

#[tokio::test]
async fn instance_with_base64_user_data_keeps_it_as_given() {
    use base64::Engine;
    let ctx = context().await;
    let ami = find_ami(&ctx).await;
    let ty = InstanceResource::new(ctx.clone());
    let encoded =
        base64::engine::general_purpose::STANDARD.encode("#cloud-config\npackages: [git]\n");
    let cfg = config(
        ty.schema(),
        vec![
            ("ami", s(ami.str_attr("id").expect("ami"))),
            ("instance_type", s("t3.micro")),
            ("user_data_base64", s(&encoded)),
        ],
    );
    let state = create(&ty, &cfg).await;
    assert_eq!(state.str_attr("user_data_base64"), Some(encoded.as_str()));
    assert!(state.get("user_data").is_some_and(Value::is_null));
    let live = ty.read(&state).await.expect("read").expect("exists");
    assert!(live.same_as(&state), "{live:?}\n{state:?}");
    assert_no_op(&ty, &live, &cfg);
    let conflicting = config(
        ty.schema(),
        vec![
            ("ami", s("ami-1")),
            ("user_data", s("#!/bin/sh\n")),
            ("user_data_base64", s(&encoded)),
        ],
    );
    assert!(
        ty.plan(None, &conflicting)
            .expect_err("conflict")
            .message
            .contains("user_data_base64")
    );
    ty.delete(&live).await.expect("terminate");
}

// ec2net (#19): aws_vpc.

/// A VPC's DNS hostnames setting as EC2 holds it, changed outside forge.
async fn set_dns_hostnames(ec2: &aws_sdk_ec2::Client, vpc: &str, on: bool) {
    ec2.modify_vpc_attribute()
        .vpc_id(vpc)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(on)
                .build(),
        )
        .send()
        .await
        .expect("modify vpc attribute");
}

#[tokio::test]
async fn vpc_lifecycle() {
    use forge_aws_ec2::vpc_resource::VpcResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = VpcResource::new(ctx.clone());
    let name = unique("forge-vpc");
    let cfg = config(
        ty.schema(),
        vec![
            ("cidr_block", s("10.42.0.0/16")),
            ("enable_dns_hostnames", Value::Bool(true)),
            ("tags", tags(&[("Name", &name), ("team", "net")])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("vpc-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":vpc/{id}"))),
        "{live:?}"
    );
    assert_eq!(live.str_attr("instance_tenancy"), Some("default"));
    assert_eq!(live.get("enable_dns_support"), Some(&Value::Bool(true)));
    assert_eq!(
        live.get("enable_network_address_usage_metrics"),
        Some(&Value::Bool(false))
    );
    for computed in [
        "main_route_table_id",
        "default_network_acl_id",
        "default_security_group_id",
    ] {
        assert!(
            live.str_attr(computed).is_some_and(|v| !v.is_empty()),
            "{computed}: {live:?}"
        );
    }
    assert_eq!(
        live.str_attr("main_route_table_id"),
        live.str_attr("default_route_table_id")
    );
    // No IPv6 block: the provider's empty values.
    assert_eq!(
        live.get("assign_generated_ipv6_cidr_block"),
        Some(&Value::Bool(false))
    );
    assert_eq!(live.str_attr("ipv6_cidr_block"), Some(""));
    assert_eq!(live.get("ipv6_netmask_length"), Some(&Value::Number(0.0)));

    // DNS hostnames turned off and a tag removed outside forge show; the update repairs.
    let untag = ec2
        .delete_tags()
        .resources(&id)
        .tags(Tag::builder().key("team").build());
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                set_dns_hostnames(&ec2, &id, false).await;
                untag.send().await.map(|_| ()).expect("untag");
            },
            |drifted| {
                assert_eq!(
                    drifted.get("enable_dns_hostnames"),
                    Some(&Value::Bool(false))
                );
                assert!(drifted.get("tags").and_then(|t| t.get("team")).is_none());
            },
        )
        .await;
    assert_eq!(after.get("enable_dns_hostnames"), Some(&Value::Bool(true)));

    // Another block replaces the VPC; metrics and DNS settings change in place.
    assert_replaced_when(&ty, &after, &cfg, "cidr_block", s("10.43.0.0/16"));
    let mut metrics = cfg.clone();
    if let Value::Object(m) = &mut metrics {
        m.insert(
            "enable_network_address_usage_metrics".into(),
            Value::Bool(true),
        );
    }
    let with_metrics = update(&ty, &after, &metrics).await;
    assert_eq!(
        with_metrics.get("enable_network_address_usage_metrics"),
        Some(&Value::Bool(true))
    );
    assert_no_op(&ty, &with_metrics, &metrics);

    let _ = cycle.import(&id, &with_metrics).await;
    cycle.delete(&with_metrics).await;
}

#[tokio::test]
async fn vpc_created_under_an_intent_is_found_by_its_token_only() {
    use forge_aws_ec2::intent_tag::INTENT_TAG;
    use forge_aws_ec2::vpc_resource::VpcResource;
    use forge_provider::{CreateIntent, Finding, FoundBy};
    let ctx = context().await;
    let ty = VpcResource::new(ctx.clone());
    let name = unique("forge-vpc-intent");
    let cfg = config(
        ty.schema(),
        vec![
            ("cidr_block", s("10.44.0.0/16")),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    let intent = CreateIntent {
        token: forge_provider::intent::new_token((u128::from(std::process::id()) << 64) | 7),
        started: std::time::SystemTime::now(),
    };
    let other = CreateIntent {
        token: format!("{}-other", intent.token),
        ..intent.clone()
    };
    let made = ty.create_under(&planned, &intent).await.expect("create");
    assert!(
        made.get("tags_all")
            .and_then(|t| t.get(INTENT_TAG))
            .is_none()
    );
    // The answer "lost": the VPC is found by the intent's token, never by another's.
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the VPC made under the intent is not found");
    };
    assert_eq!(found.by, FoundBy::Token);
    assert_eq!(found.object.str_attr("id"), made.str_attr("id"));
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    assert_eq!(
        ty.find_created(&planned, &other).await.expect("find other"),
        Finding::Absent
    );
    // Once recorded, the marker goes: a read shows only the configured tags.
    ty.created_recorded(&made).await.expect("recorded");
    let live = ty.read(&made).await.expect("read").expect("exists");
    assert!(live.same_as(&made), "{live:?}\n{made:?}");
    assert_eq!(
        ty.find_created(&planned, &intent)
            .await
            .expect("find again"),
        Finding::Absent
    );
    ty.delete(&live).await.expect("delete");
}

// ec2net (#19): aws_subnet.

#[tokio::test]
async fn subnet_lifecycle() {
    use forge_aws_ec2::subnet_resource::SubnetResource;
    use forge_aws_ec2::vpc_resource::VpcResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let vpcs = VpcResource::new(ctx.clone());
    let vpc = create(
        &vpcs,
        &config(vpcs.schema(), vec![("cidr_block", s("10.45.0.0/16"))]),
    )
    .await;
    let vpc_id = vpc.str_attr("id").expect("vpc id").to_string();
    let ty = SubnetResource::new(ctx.clone());
    let name = unique("forge-subnet");
    let cfg = config(
        ty.schema(),
        vec![
            ("vpc_id", s(&vpc_id)),
            ("cidr_block", s("10.45.1.0/24")),
            ("availability_zone", s("us-east-1a")),
            ("map_public_ip_on_launch", Value::Bool(true)),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("subnet-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":subnet/{id}")))
    );
    assert!(
        live.str_attr("availability_zone_id")
            .is_some_and(|z| !z.is_empty()),
        "{live:?}"
    );
    assert_eq!(live.str_attr("ipv6_cidr_block"), Some(""));
    assert_eq!(live.get("timeouts"), Some(&Value::Null));

    // Public addresses turned off and a tag added outside forge show; the update repairs.
    let tag = ec2
        .create_tags()
        .resources(&id)
        .tags(Tag::builder().key("extra").value("x").build());
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                ec2.modify_subnet_attribute()
                    .subnet_id(&id)
                    .map_public_ip_on_launch(
                        aws_sdk_ec2::types::AttributeBooleanValue::builder()
                            .value(false)
                            .build(),
                    )
                    .send()
                    .await
                    .expect("modify subnet");
                tag.send().await.map(|_| ()).expect("tag");
            },
            |drifted| {
                assert_eq!(
                    drifted.get("map_public_ip_on_launch"),
                    Some(&Value::Bool(false))
                );
                assert!(drifted.get("tags").and_then(|t| t.get("extra")).is_some());
            },
        )
        .await;
    assert_eq!(
        after.get("map_public_ip_on_launch"),
        Some(&Value::Bool(true))
    );

    // Another block or zone replaces the subnet; the launch DNS setting is in place.
    assert_replaced_when(&ty, &after, &cfg, "cidr_block", s("10.45.2.0/24"));
    assert_replaced_when(&ty, &after, &cfg, "availability_zone", s("us-east-1b"));
    let mut dns = cfg.clone();
    if let Value::Object(m) = &mut dns {
        m.insert(
            "enable_resource_name_dns_a_record_on_launch".into(),
            Value::Bool(true),
        );
    }
    let with_dns = update(&ty, &after, &dns).await;
    assert_eq!(
        with_dns.get("enable_resource_name_dns_a_record_on_launch"),
        Some(&Value::Bool(true))
    );
    assert_no_op(&ty, &with_dns, &dns);
    // IPv6 subnets are refused at plan, naming the argument.
    let mut ipv6 = cfg.clone();
    if let Value::Object(m) = &mut ipv6 {
        m.insert("ipv6_native".into(), Value::Bool(true));
    }
    let refused = ty.plan(Some(&with_dns), &ipv6).expect_err("refused");
    assert!(refused.message.contains("ipv6_native"), "{refused:?}");

    let _ = cycle.import(&id, &with_dns).await;
    cycle.delete(&with_dns).await;
    vpcs.delete(&vpc).await.expect("delete vpc");
}

// ec2net (#19): aws_internet_gateway.

#[tokio::test]
async fn internet_gateway_lifecycle() {
    use forge_aws_ec2::internet_gateway::InternetGatewayResource;
    use forge_aws_ec2::vpc_resource::VpcResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let vpcs = VpcResource::new(ctx.clone());
    let vpc_cfg = config(vpcs.schema(), vec![("cidr_block", s("10.46.0.0/16"))]);
    let vpc = create(&vpcs, &vpc_cfg).await;
    let other_vpc = create(&vpcs, &vpc_cfg).await;
    let vpc_id = vpc.str_attr("id").expect("vpc id").to_string();
    let other_id = other_vpc.str_attr("id").expect("vpc id").to_string();
    let ty = InternetGatewayResource::new(ctx.clone());
    let name = unique("forge-igw");
    let cfg = config(
        ty.schema(),
        vec![("vpc_id", s(&vpc_id)), ("tags", tags(&[("Name", &name)]))],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("igw-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":internet-gateway/{id}")))
    );
    assert_eq!(live.get("timeouts"), Some(&Value::Null));

    // Detached outside forge: read shows no VPC; the update attaches it again.
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                ec2.detach_internet_gateway()
                    .internet_gateway_id(&id)
                    .vpc_id(&vpc_id)
                    .send()
                    .await
                    .expect("detach");
            },
            |drifted| assert_eq!(drifted.str_attr("vpc_id"), Some("")),
        )
        .await;

    // Another VPC is an in-place move of the attachment, as in the provider.
    let mut moved = cfg.clone();
    if let Value::Object(m) = &mut moved {
        m.insert("vpc_id".into(), s(&other_id));
    }
    let moved_state = update(&ty, &after, &moved).await;
    assert_eq!(moved_state.str_attr("vpc_id"), Some(other_id.as_str()));
    assert_no_op(&ty, &moved_state, &moved);

    let _ = cycle.import(&id, &moved_state).await;
    // Deleting detaches first: the VPC can go right after.
    cycle.delete(&moved_state).await;
    vpcs.delete(&vpc).await.expect("delete vpc");
    vpcs.delete(&other_vpc).await.expect("delete other vpc");
}

// --- aws_vpc_security_group_ingress_rule / _egress_rule (ec2vol) ---

/// A security group of its own for a rule test, in the default VPC, made with the SDK so
/// the rule types are tested alone.
async fn scratch_group(ec2: &aws_sdk_ec2::Client, prefix: &str) -> String {
    let vpc = default_vpc(ec2).await;
    ec2.create_security_group()
        .group_name(unique(prefix))
        .description("forge rule test")
        .vpc_id(vpc)
        .send()
        .await
        .expect("create scratch group")
        .group_id()
        .expect("group id")
        .to_string()
}

#[tokio::test]
async fn vpc_security_group_ingress_rule_lifecycle() {
    use forge_aws_ec2::vpc_security_group_rule::VpcSecurityGroupRuleType;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let group = scratch_group(&ec2, "forge-sgr-in").await;
    let ty = VpcSecurityGroupRuleType::ingress(ctx.clone());
    let settings = |description: &str| {
        vec![
            ("security_group_id", s(&group)),
            ("ip_protocol", s("tcp")),
            ("from_port", n(443.0)),
            ("to_port", n(443.0)),
            ("cidr_ipv4", s("10.0.0.0/8")),
            ("description", s(description)),
            ("tags", tags(&[("Name", "https-in")])),
        ]
    };
    let cfg = config(ty.schema(), settings("https"));
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("sgr-"), "{id}");
    assert_eq!(live.str_attr("security_group_rule_id"), Some(id.as_str()));
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":security-group-rule/{id}")))
    );
    assert_eq!(
        live.get("tags_all").and_then(|t| t.get("Name")),
        Some(&s("https-in"))
    );

    // The number of a protocol means its name: no change, and the stored spelling stays.
    let mut numeric = cfg.clone();
    forge_aws_ec2::common::set_attr(&mut numeric, "ip_protocol", s("6"));
    assert_no_op(&ty, &live, &numeric);

    // A lost create answer settles on this rule, found on its group by what it is.
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    match ty.find_created(&planned, &intent).await.expect("find") {
        forge_provider::Finding::Found(found) => {
            assert_eq!(found.id, id);
            assert!(found.object.same_as(&live), "{:?}", found.object);
        }
        other => panic!("the rule was not found: {other:?}"),
    }
    let mut other_port = planned.clone();
    forge_aws_ec2::common::set_attr(&mut other_port, "from_port", n(444.0));
    assert_eq!(
        ty.find_created(&other_port, &intent).await.expect("find"),
        forge_provider::Finding::Absent
    );

    // The description changed outside forge shows, and the update puts it back in place.
    let modify = ec2
        .modify_security_group_rules()
        .group_id(&group)
        .security_group_rules(
            aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(&id)
                .security_group_rule(
                    aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
                        .ip_protocol("tcp")
                        .from_port(443)
                        .to_port(443)
                        .cidr_ipv4("10.0.0.0/8")
                        .description("changed by hand")
                        .build(),
                )
                .build(),
        );
    let after = cycle
        .drift_and_repair(
            &live,
            async { modify.send().await.map(|_| ()).expect("modify") },
            |drifted| assert_eq!(drifted.str_attr("description"), Some("changed by hand")),
        )
        .await;
    assert_eq!(after.str_attr("id"), Some(id.as_str()), "repaired in place");

    // Ports change in place; another kind of source or another group is another rule.
    let mut ports = cfg.clone();
    forge_aws_ec2::common::set_attr(&mut ports, "to_port", n(444.0));
    assert!(
        ty.plan(Some(&after), &ports)
            .expect("plan")
            .requires_replace
            .is_empty()
    );
    let mut v6 = cfg.clone();
    forge_aws_ec2::common::set_attr(&mut v6, "cidr_ipv4", Value::Null);
    forge_aws_ec2::common::set_attr(&mut v6, "cidr_ipv6", s("::/0"));
    assert_eq!(
        ty.plan(Some(&after), &v6).expect("plan").requires_replace,
        vec!["cidr_ipv4".to_string(), "cidr_ipv6".to_string()]
    );
    assert_replaced_when(&ty, &after, &cfg, "security_group_id", s("sg-0other"));

    cycle.import(&id, &after).await;
    // An ingress rule's id is no egress rule.
    assert_eq!(
        VpcSecurityGroupRuleType::egress(ctx.clone())
            .import(&id)
            .await
            .expect("import"),
        None
    );
    cycle.delete(&after).await;
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("delete scratch group");
}

#[tokio::test]
async fn vpc_security_group_egress_rule_lifecycle() {
    use forge_aws_ec2::vpc_security_group_rule::VpcSecurityGroupRuleType;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let group = scratch_group(&ec2, "forge-sgr-out").await;
    let ty = VpcSecurityGroupRuleType::egress(ctx.clone());
    // All traffic to the group itself: no ports, which AWS reports as -1.
    let cfg = config(
        ty.schema(),
        vec![
            ("security_group_id", s(&group)),
            ("ip_protocol", s("-1")),
            ("referenced_security_group_id", s(&group)),
            ("tags", tags(&[("team", "net")])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert_eq!(live.get("from_port"), Some(&Value::Null));
    assert_eq!(live.get("to_port"), Some(&Value::Null));
    assert_eq!(live.get("cidr_ipv4"), Some(&Value::Null));
    let mut all = cfg.clone();
    forge_aws_ec2::common::set_attr(&mut all, "ip_protocol", s("all"));
    assert_no_op(&ty, &live, &all);

    // A tag removed outside forge shows; the update puts it back.
    let untag = ec2
        .delete_tags()
        .resources(&id)
        .tags(Tag::builder().key("team").build());
    let after = cycle
        .drift_and_repair(
            &live,
            async { untag.send().await.map(|_| ()).expect("untag") },
            |drifted| {
                assert!(
                    drifted
                        .get("tags_all")
                        .and_then(|t| t.get("team"))
                        .is_none()
                )
            },
        )
        .await;
    cycle.import(&id, &after).await;
    assert_eq!(
        VpcSecurityGroupRuleType::ingress(ctx.clone())
            .import(&id)
            .await
            .expect("import"),
        None
    );
    cycle.delete(&after).await;

    // A rule the group already has is refused with the way out named.
    let err = ty
        .create(
            &ty.plan(
                None,
                &config(
                    ty.schema(),
                    vec![
                        ("security_group_id", s(&group)),
                        ("ip_protocol", s("-1")),
                        ("cidr_ipv4", s("0.0.0.0/0")),
                    ],
                ),
            )
            .expect("plan")
            .planned,
        )
        .await
        .expect_err("the default allow-all egress rule exists already");
    assert_eq!(err.code.as_deref(), Some("InvalidPermission.Duplicate"));
    assert!(format!("{err:?}").contains("import"), "{err:?}");
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("delete scratch group");
}

// --- aws_ebs_volume (ec2vol) ---

#[tokio::test]
async fn ebs_volume_lifecycle() {
    use forge_aws_ec2::ebs_volume::EbsVolumeResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = EbsVolumeResource::new(ctx.clone());
    let name = unique("forge-vol");
    let cfg = config(
        ty.schema(),
        vec![
            ("availability_zone", s("us-east-1a")),
            ("size", n(2.0)),
            ("type", s("gp3")),
            ("iops", n(3000.0)),
            ("throughput", n(125.0)),
            ("tags", tags(&[("Name", &name), ("team", "storage")])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("vol-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":volume/{id}"))),
        "{live:?}"
    );
    // The provider's empty values for what is not configured, and its time format.
    assert_eq!(live.get("encrypted"), Some(&Value::Bool(false)));
    assert_eq!(live.get("final_snapshot"), Some(&Value::Bool(false)));
    assert_eq!(live.get("multi_attach_enabled"), Some(&Value::Bool(false)));
    assert_eq!(live.str_attr("snapshot_id"), Some(""));
    assert_eq!(live.str_attr("outpost_arn"), Some(""));
    assert_eq!(live.get("timeouts"), Some(&Value::Null));
    let created = live.str_attr("create_time").expect("create_time");
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.contains('T'),
        "{created}"
    );

    // IOPS changed and a tag removed outside forge show; the update repairs both.
    let untag = ec2
        .delete_tags()
        .resources(&id)
        .tags(Tag::builder().key("team").build());
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                ec2.modify_volume()
                    .volume_id(&id)
                    .iops(4000)
                    .send()
                    .await
                    .expect("modify volume");
                untag.send().await.map(|_| ()).expect("untag");
            },
            |drifted| {
                assert_eq!(drifted.get("iops"), Some(&Value::Number(4000.0)));
                assert!(drifted.get("tags").and_then(|t| t.get("team")).is_none());
            },
        )
        .await;
    assert_eq!(after.get("iops"), Some(&Value::Number(3000.0)));

    // Zone, encryption or a snapshot replace the volume; size and type change in place.
    assert_replaced_when(&ty, &after, &cfg, "availability_zone", s("us-east-1b"));
    assert_replaced_when(&ty, &after, &cfg, "encrypted", Value::Bool(true));
    let mut bigger = cfg.clone();
    if let Value::Object(m) = &mut bigger {
        m.insert("size".into(), n(4.0));
        m.insert("type".into(), s("io1"));
        m.insert("iops".into(), n(200.0));
        m.insert("throughput".into(), Value::Null);
        m.insert("final_snapshot".into(), Value::Bool(true));
    }
    let grown = update(&ty, &after, &bigger).await;
    assert_eq!(grown.get("size"), Some(&Value::Number(4.0)));
    assert_eq!(grown.str_attr("type"), Some("io1"));
    assert_eq!(grown.get("iops"), Some(&Value::Number(200.0)));
    assert_eq!(grown.get("final_snapshot"), Some(&Value::Bool(true)));
    assert_no_op(&ty, &grown, &bigger);
    assert_stored_state_plans_no_op(&ty, &grown, &bigger).await;

    // Import by id: final_snapshot is configuration only, so import gives its default.
    let imported = Lifecycle::new(&ty, bigger.clone())
        .ignoring_on_import(&["final_snapshot"])
        .import(&id, &grown)
        .await;
    assert_eq!(imported.get("final_snapshot"), Some(&Value::Bool(false)));

    // final_snapshot: deleting leaves a snapshot of the volume, tagged as the volume.
    Lifecycle::new(&ty, bigger.clone()).delete(&grown).await;
    let snaps = ec2
        .describe_snapshots()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("volume-id")
                .values(&id)
                .build(),
        )
        .send()
        .await
        .expect("describe snapshots");
    assert_eq!(snaps.snapshots().len(), 1, "{snaps:?}");
    let snap = &snaps.snapshots()[0];
    assert!(
        snap.tags()
            .iter()
            .any(|t| t.key() == Some("Name") && t.value() == Some(name.as_str())),
        "{snap:?}"
    );
    ec2.delete_snapshot()
        .snapshot_id(snap.snapshot_id().expect("snapshot id"))
        .send()
        .await
        .expect("delete snapshot");
}

#[tokio::test]
async fn ebs_volume_refuses_settings_its_type_does_not_take() {
    use forge_aws_ec2::ebs_volume::EbsVolumeResource;
    let ctx = context().await;
    let ty = EbsVolumeResource::new(ctx.clone());
    let refused = |pairs: Vec<(&str, Value)>, word: &str| {
        let mut all = vec![("availability_zone", s("us-east-1a"))];
        all.extend(pairs);
        let e = ty
            .plan(None, &config(ty.schema(), all))
            .expect_err("refused at plan");
        assert!(e.message.contains(word), "{word}: {e:?}");
    };
    refused(vec![("type", s("gp3"))], "size");
    refused(vec![("size", n(1.0)), ("type", s("io2"))], "iops");
    refused(
        vec![
            ("size", n(1.0)),
            ("type", s("gp2")),
            ("throughput", n(200.0)),
        ],
        "throughput",
    );
    refused(
        vec![("size", n(1.0)), ("kms_key_id", s("alias/mine"))],
        "kms_key_id",
    );
    refused(
        vec![
            ("size", n(1.0)),
            ("timeouts", Value::object([("create", s("1m"))])),
        ],
        "timeouts",
    );
}

#[tokio::test]
async fn ebs_volume_created_under_an_intent_is_found_by_its_token_only() {
    use forge_aws_ec2::ebs_volume::EbsVolumeResource;
    use forge_aws_ec2::intent_tag::INTENT_TAG;
    use forge_provider::{CreateIntent, Finding, FoundBy};
    let ctx = context().await;
    let ty = EbsVolumeResource::new(ctx.clone());
    let name = unique("forge-vol-intent");
    let cfg = config(
        ty.schema(),
        vec![
            ("availability_zone", s("us-east-1a")),
            ("size", n(1.0)),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    let intent = CreateIntent {
        token: forge_provider::intent::new_token((u128::from(std::process::id()) << 64) | 19),
        started: std::time::SystemTime::now(),
    };
    let other = CreateIntent {
        token: format!("{}-other", intent.token),
        ..intent.clone()
    };
    let made = ty.create_under(&planned, &intent).await.expect("create");
    assert!(
        made.get("tags_all")
            .and_then(|t| t.get(INTENT_TAG))
            .is_none()
    );
    // The answer "lost": the volume is found by the intent's token, never by another's.
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the volume made under the intent is not found");
    };
    assert_eq!(found.by, FoundBy::Token);
    assert_eq!(found.object.str_attr("id"), made.str_attr("id"));
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    assert_eq!(
        ty.find_created(&planned, &other).await.expect("find other"),
        Finding::Absent
    );
    // Once recorded, the marker goes: a read shows only the configured tags.
    ty.created_recorded(&made).await.expect("recorded");
    let live = ty.read(&made).await.expect("read").expect("exists");
    assert!(live.same_as(&made), "{live:?}\n{made:?}");
    assert_eq!(
        ty.find_created(&planned, &intent)
            .await
            .expect("find again"),
        Finding::Absent
    );
    ty.delete(&live).await.expect("delete");
}

// --- ec2rt (#19): aws_route_table ---

/// A route element as configured: only the attributes given (the rest left out, as a
/// user writes it).
fn route_cfg(pairs: &[(&str, &str)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (*k, s(v))))
}

#[tokio::test]
async fn route_table_lifecycle() {
    use forge_aws_ec2::internet_gateway::InternetGatewayResource;
    use forge_aws_ec2::route_table::RouteTableResource;
    use forge_aws_ec2::vpc_resource::VpcResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let vpcs = VpcResource::new(ctx.clone());
    let vpc = create(
        &vpcs,
        &config(vpcs.schema(), vec![("cidr_block", s("10.47.0.0/16"))]),
    )
    .await;
    let vpc_id = vpc.str_attr("id").expect("vpc id").to_string();
    let igws = InternetGatewayResource::new(ctx.clone());
    let igw = create(&igws, &config(igws.schema(), vec![("vpc_id", s(&vpc_id))])).await;
    let igw_id = igw.str_attr("id").expect("igw id").to_string();

    let ty = RouteTableResource::new(ctx.clone());
    let name = unique("forge-rtb");
    let internet = route_cfg(&[("cidr_block", "0.0.0.0/0"), ("gateway_id", &igw_id)]);
    let cfg = config(
        ty.schema(),
        vec![
            ("vpc_id", s(&vpc_id)),
            ("route", Value::Tuple(vec![internet.clone()])),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("rtb-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":route-table/{id}")))
    );
    // The provider's shape: the VPC's local route left out, every route attribute there
    // with "" for what is not set.
    let routes = live.get("route").and_then(Value::as_seq).expect("routes");
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0].as_map().map(|m| m.len()), Some(13));
    assert_eq!(routes[0].str_attr("nat_gateway_id"), Some(""));
    assert_eq!(live.get("propagating_vgws"), Some(&Value::Set(Vec::new())));

    // The route deleted outside forge: read shows no route; the update adds it again.
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                ec2.delete_route()
                    .route_table_id(&id)
                    .destination_cidr_block("0.0.0.0/0")
                    .send()
                    .await
                    .expect("delete route");
            },
            |drifted| {
                assert_eq!(
                    drifted.get("route").and_then(Value::as_seq).map(<[_]>::len),
                    Some(0)
                )
            },
        )
        .await;

    // A second route, in place; the set compares by element whatever the order.
    let mut two = cfg.clone();
    let office = route_cfg(&[("cidr_block", "192.168.0.0/16"), ("gateway_id", &igw_id)]);
    set(
        &mut two,
        "route",
        Value::Tuple(vec![office.clone(), internet.clone()]),
    );
    let with_two = update(&ty, &after, &two).await;
    assert_eq!(
        with_two
            .get("route")
            .and_then(Value::as_seq)
            .map(<[_]>::len),
        Some(2)
    );
    assert_no_op(&ty, &with_two, &two);
    let mut reversed = cfg.clone();
    set(
        &mut reversed,
        "route",
        Value::Tuple(vec![internet.clone(), office]),
    );
    assert_no_op(&ty, &with_two, &reversed);

    // No `route` block: the routes stay as they are. Dropping one of two blocks deletes
    // that route only.
    let mut omitted = cfg.clone();
    set(&mut omitted, "route", Value::List(Vec::new()));
    assert_no_op(&ty, &with_two, &omitted);
    let emptied = update(&ty, &with_two, &cfg).await;
    assert_eq!(
        emptied.get("route").and_then(Value::as_seq).map(<[_]>::len),
        Some(1)
    );
    assert_no_op(&ty, &emptied, &cfg);
    let none = cfg.clone();

    // A route without a target, a misspelt attribute and two routes to one destination are
    // refused at plan, naming the problem.
    let mut bad = cfg.clone();
    set(
        &mut bad,
        "route",
        Value::Tuple(vec![route_cfg(&[("cidr_block", "10.9.0.0/16")])]),
    );
    let e = ty.plan(Some(&emptied), &bad).expect_err("no target");
    assert!(e.message.contains("exactly one target"), "{e:?}");
    set(
        &mut bad,
        "route",
        Value::Tuple(vec![route_cfg(&[
            ("cidr", "10.9.0.0/16"),
            ("gateway_id", &igw_id),
        ])]),
    );
    let e = ty.plan(Some(&emptied), &bad).expect_err("misspelt");
    assert!(e.message.contains("`cidr`"), "{e:?}");
    let other_igw = route_cfg(&[("cidr_block", "0.0.0.0/0"), ("gateway_id", "igw-0000")]);
    set(
        &mut bad,
        "route",
        Value::Tuple(vec![internet.clone(), other_igw]),
    );
    let e = ty.plan(Some(&emptied), &bad).expect_err("same destination");
    assert!(e.message.contains("two routes"), "{e:?}");

    // Another VPC replaces the table.
    assert_replaced_when(&ty, &emptied, &none, "vpc_id", s("vpc-0123456789"));

    // Import by the rtb- id, as Terraform.
    let restored = emptied;
    let _ = cycle.import(&id, &restored).await;
    cycle.delete(&restored).await;
    igws.delete(&igw).await.expect("delete igw");
    vpcs.delete(&vpc).await.expect("delete vpc");
}

#[tokio::test]
async fn route_table_created_under_an_intent_is_found_by_its_token_only() {
    use forge_aws_ec2::intent_tag::INTENT_TAG;
    use forge_aws_ec2::route_table::RouteTableResource;
    use forge_aws_ec2::vpc_resource::VpcResource;
    use forge_provider::{CreateIntent, Finding, FoundBy};
    let ctx = context().await;
    let vpcs = VpcResource::new(ctx.clone());
    let vpc = create(
        &vpcs,
        &config(vpcs.schema(), vec![("cidr_block", s("10.48.0.0/16"))]),
    )
    .await;
    let vpc_id = vpc.str_attr("id").expect("vpc id").to_string();
    let ty = RouteTableResource::new(ctx.clone());
    let cfg = config(
        ty.schema(),
        vec![
            ("vpc_id", s(&vpc_id)),
            ("tags", tags(&[("Name", &unique("forge-rtb-intent"))])),
        ],
    );
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    let intent = CreateIntent {
        token: forge_provider::intent::new_token((u128::from(std::process::id()) << 64) | 11),
        started: std::time::SystemTime::now(),
    };
    let other = CreateIntent {
        token: format!("{}-other", intent.token),
        ..intent.clone()
    };
    let made = ty.create_under(&planned, &intent).await.expect("create");
    assert!(
        made.get("tags_all")
            .and_then(|t| t.get(INTENT_TAG))
            .is_none()
    );
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the route table made under the intent is not found");
    };
    assert_eq!(found.by, FoundBy::Token);
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    assert_eq!(
        ty.find_created(&planned, &other).await.expect("find other"),
        Finding::Absent
    );
    ty.created_recorded(&made).await.expect("recorded");
    assert_eq!(
        ty.find_created(&planned, &intent)
            .await
            .expect("find again"),
        Finding::Absent
    );
    ty.delete(&made).await.expect("delete");
    vpcs.delete(&vpc).await.expect("delete vpc");
}

fn set(cfg: &mut Value, name: &str, v: Value) {
    if let Value::Object(m) = cfg {
        m.insert(name.to_string(), v);
    }
}

// --- ec2rt (#19): aws_route_table_association ---

#[tokio::test]
async fn route_table_association_lifecycle() {
    use forge_aws_ec2::route_table::RouteTableResource;
    use forge_aws_ec2::route_table_association::RouteTableAssociationResource;
    use forge_aws_ec2::subnet_resource::SubnetResource;
    use forge_aws_ec2::vpc_resource::VpcResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let vpcs = VpcResource::new(ctx.clone());
    let vpc = create(
        &vpcs,
        &config(vpcs.schema(), vec![("cidr_block", s("10.49.0.0/16"))]),
    )
    .await;
    let vpc_id = vpc.str_attr("id").expect("vpc id").to_string();
    let subnets = SubnetResource::new(ctx.clone());
    let subnet = create(
        &subnets,
        &config(
            subnets.schema(),
            vec![("vpc_id", s(&vpc_id)), ("cidr_block", s("10.49.1.0/24"))],
        ),
    )
    .await;
    let subnet_id = subnet.str_attr("id").expect("subnet id").to_string();
    let tables = RouteTableResource::new(ctx.clone());
    let table_cfg = config(tables.schema(), vec![("vpc_id", s(&vpc_id))]);
    let first = create(&tables, &table_cfg).await;
    let second = create(&tables, &table_cfg).await;
    let first_id = first.str_attr("id").expect("rtb").to_string();
    let second_id = second.str_attr("id").expect("rtb").to_string();

    let ty = RouteTableAssociationResource::new(ctx.clone());
    let cfg = config(
        ty.schema(),
        vec![
            ("subnet_id", s(&subnet_id)),
            ("route_table_id", s(&first_id)),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("rtbassoc-"), "{id}");
    assert_eq!(
        live.str_attr("gateway_id"),
        Some(""),
        "the provider's empty value"
    );

    // A lost answer settles on the association of that subnet with that table only.
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    match ty.find_created(&planned, &intent).await.expect("find") {
        forge_provider::Finding::Found(f) => assert_eq!(f.object.str_attr("id"), Some(id.as_str())),
        other => panic!("not found: {other:?}"),
    }
    let mut elsewhere = cfg.clone();
    set(&mut elsewhere, "route_table_id", s(&second_id));
    let planned_elsewhere = ty.plan(None, &elsewhere).expect("plan").planned;
    assert_eq!(
        ty.find_created(&planned_elsewhere, &intent)
            .await
            .expect("find"),
        forge_provider::Finding::Absent
    );

    // Disassociated outside forge: read says gone, and the plan creates it again.
    ec2.disassociate_route_table()
        .association_id(&id)
        .send()
        .await
        .expect("disassociate");
    assert_eq!(ty.read(&live).await.expect("read"), None);
    let live = create(&ty, &cfg).await;

    // Another table: in place (ReplaceRouteTableAssociation), with a new id as planned.
    let plan = ty.plan(Some(&live), &elsewhere).expect("plan move");
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    assert_eq!(plan.planned.get("id"), Some(&Value::Unknown));
    let moved = ty.update(&live, &plan.planned).await.expect("move");
    assert_eq!(moved.str_attr("route_table_id"), Some(second_id.as_str()));
    assert_no_op(&ty, &moved, &elsewhere);
    assert_stored_state_plans_no_op(&ty, &moved, &elsewhere).await;
    // Another subnet replaces it.
    assert_replaced_when(&ty, &moved, &elsewhere, "subnet_id", s("subnet-0123456789"));

    // Import by `subnet-id/rtb-id`, as Terraform; a malformed id is refused by name.
    let moved_id = moved.str_attr("id").expect("id").to_string();
    let cycle = Lifecycle::new(&ty, elsewhere.clone());
    let imported = cycle
        .import(&format!("{subnet_id}/{second_id}"), &moved)
        .await;
    assert_eq!(imported.str_attr("id"), Some(moved_id.as_str()));
    let e = ty.import(&subnet_id).await.expect_err("malformed");
    assert!(e.message.contains("subnet-id/route-table-id"), "{e:?}");
    assert_eq!(
        ty.import(&format!("{subnet_id}/{first_id}"))
            .await
            .expect("import"),
        None
    );
    cycle.delete(&moved).await;
    tables.delete(&first).await.expect("delete rtb");
    tables.delete(&second).await.expect("delete rtb");
    subnets.delete(&subnet).await.expect("delete subnet");
    vpcs.delete(&vpc).await.expect("delete vpc");
}

// --- ec2rt (#19): data aws_availability_zones ---

#[tokio::test]
async fn availability_zones_data_source() {
    use forge_aws_ec2::availability_zones::AvailabilityZonesDataSource;
    let ctx = context().await;
    let ds = AvailabilityZonesDataSource::new(ctx.clone());
    let cfg = config(ds.schema(), vec![("state", s("available"))]);
    let all = ds.read(&cfg).await.expect("read");
    assert_eq!(all.str_attr("id"), Some(ctx.region.as_str()));
    let names: Vec<String> = all
        .get("names")
        .and_then(Value::as_seq)
        .expect("names")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name, as the provider");
    let ids = all.get("zone_ids").and_then(Value::as_seq).expect("ids");
    assert_eq!(ids.len(), names.len());
    // Excluding the first zone by name leaves the others, in order.
    let cfg = config(
        ds.schema(),
        vec![
            ("state", s("available")),
            ("exclude_names", Value::Set(vec![s(&names[0])])),
        ],
    );
    let fewer = ds.read(&cfg).await.expect("read");
    let rest: Vec<&str> = fewer
        .get("names")
        .and_then(Value::as_seq)
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        rest,
        names[1..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    // A state no zone has gives none.
    let cfg = config(ds.schema(), vec![("state", s("impaired"))]);
    let none = ds.read(&cfg).await.expect("read");
    assert_eq!(
        none.get("names").and_then(Value::as_seq).map(<[_]>::len),
        Some(0)
    );
}

// --- Batched reads (#16) ---

/// Reads of many groups at once go out in a few DescribeSecurityGroups calls, and each
/// answers what a read alone answers: the same state for a live group, `None` for a
/// deleted one and for a well-formed id that never existed.
#[tokio::test]
async fn concurrent_security_group_reads_share_calls_and_answer_as_alone() {
    require_emulators();
    let stats = forge_aws_common::ApiStats::new();
    let ctx = Arc::new(
        AwsContext::from_provider_config(&Value::object([("region", Value::string("us-east-1"))]))
            .await
            .expect("provider context")
            .with_api_stats(stats.clone()),
    );
    let ec2 = sdk(&ctx).await;
    let vpc = default_vpc(&ec2).await;
    let prefix = unique("batch");
    let mut ids = Vec::new();
    for i in 0..12 {
        let out = ec2
            .create_security_group()
            .group_name(format!("{prefix}-{i}"))
            .description("batched reads")
            .vpc_id(&vpc)
            .send()
            .await
            .expect("create group");
        ids.push(out.group_id().expect("id").to_string());
    }
    let deleted = ids[5].clone();
    ec2.delete_security_group()
        .group_id(&deleted)
        .send()
        .await
        .expect("delete group");
    ids.push("sg-00000000000000dead".to_string());
    let state = |id: &str| Value::object([("id", Value::string(id))]);

    // Each alone, through a type of its own (no other read to share a call with).
    let mut alone = Vec::new();
    for id in &ids {
        let ty = SecurityGroupType::new(ctx.clone());
        alone.push(ty.read(&state(id)).await.expect("read alone"));
    }
    let calls_before = stats.calls().len();

    // All at once, through one type.
    let ty = SecurityGroupType::new(ctx.clone());
    let ty = &ty;
    let together = futures_util::future::join_all(
        ids.iter()
            .map(|id| async move { ty.read(&Value::object([("id", Value::string(id))])).await }),
    )
    .await;
    let describes = stats.calls()[calls_before..]
        .iter()
        .filter(|c| c.operation == "DescribeSecurityGroups")
        .count();
    for ((id, alone), together) in ids.iter().zip(&alone).zip(together) {
        let together = together.expect("read together");
        assert_eq!(
            &together, alone,
            "{id}: a batched read differs from a read alone"
        );
        let gone = *id == deleted || id.ends_with("dead");
        assert_eq!(together.is_none(), gone, "{id}");
    }
    assert!(
        describes <= 3,
        "13 concurrent reads took {describes} DescribeSecurityGroups calls"
    );
    for id in ids
        .iter()
        .filter(|id| **id != deleted && !id.ends_with("dead"))
    {
        let _ = ec2.delete_security_group().group_id(id).send().await;
    }
}

/// Instances read together share DescribeInstances, their root volumes' DescribeVolumes
/// and the profile-association call, and each reads as it does alone.
#[tokio::test]
async fn concurrent_instance_reads_share_calls_and_answer_as_alone() {
    require_emulators();
    let stats = forge_aws_common::ApiStats::new();
    let ctx = Arc::new(
        AwsContext::from_provider_config(&Value::object([("region", Value::string("us-east-1"))]))
            .await
            .expect("provider context")
            .with_api_stats(stats.clone()),
    );
    let ec2 = sdk(&ctx).await;
    let ami = find_ami(&ctx).await;
    let ami = ami.str_attr("id").expect("ami id");
    let out = ec2
        .run_instances()
        .image_id(ami)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(4)
        .max_count(4)
        .send()
        .await
        .expect("run instances");
    let ids: Vec<String> = out
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 4);
    let state = |id: &str| {
        Value::object([
            ("id", Value::string(id)),
            ("user_data", Value::Null),
            ("user_data_base64", Value::Null),
        ])
    };
    let mut alone = Vec::new();
    for id in &ids {
        let ty = InstanceResource::new(ctx.clone());
        alone.push(ty.read(&state(id)).await.expect("read alone"));
    }
    let before = stats.calls().len();
    let ty = InstanceResource::new(ctx.clone());
    let ty = &ty;
    let together = futures_util::future::join_all(
        ids.iter()
            .map(|id| async move { ty.read(&state(id)).await }),
    )
    .await;
    let calls = stats.calls()[before..].to_vec();
    let count = |op: &str| calls.iter().filter(|c| c.operation == op).count();
    for ((id, alone), together) in ids.iter().zip(&alone).zip(together) {
        let together = together.expect("read together");
        assert!(together.is_some(), "{id} reads as gone");
        assert_eq!(
            &together, alone,
            "{id}: a batched read differs from a read alone"
        );
    }
    for op in [
        "DescribeInstances",
        "DescribeVolumes",
        "DescribeIamInstanceProfileAssociations",
        "DescribeInstanceCreditSpecifications",
    ] {
        let seen: Vec<_> = calls
            .iter()
            .map(|c| {
                (
                    c.operation.as_str(),
                    c.start.as_millis(),
                    c.elapsed.as_millis(),
                )
            })
            .collect();
        assert!(
            count(op) <= 2,
            "4 concurrent reads took {} {op} calls: {seen:?}",
            count(op)
        );
    }
    let _ = ec2
        .terminate_instances()
        .set_instance_ids(Some(ids))
        .send()
        .await;
}

// --- ec2eip (#19): aws_eip ---

/// A subnet of the default VPC (LocalStack has one in each zone).
async fn default_subnet(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("describe subnets");
    let mut ids: Vec<String> = out
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    ids.sort();
    ids.into_iter().next().expect("a default subnet")
}

/// A network interface of its own for an address test, made with the SDK so the
/// address type is tested alone; returns its id and primary private IP.
async fn scratch_interface(ec2: &aws_sdk_ec2::Client, subnet: &str) -> (String, String) {
    let eni = ec2
        .create_network_interface()
        .subnet_id(subnet)
        .description("forge eip test")
        .send()
        .await
        .expect("create network interface");
    let eni = eni.network_interface().expect("interface");
    (
        eni.network_interface_id().expect("eni id").to_string(),
        eni.private_ip_address().expect("private ip").to_string(),
    )
}

#[tokio::test]
async fn eip_lifecycle() {
    use forge_aws_ec2::eip::EipResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let subnet = default_subnet(&ec2).await;
    let (eni, eni_ip) = scratch_interface(&ec2, &subnet).await;
    let (other_eni, other_ip) = scratch_interface(&ec2, &subnet).await;
    let ty = EipResource::new(ctx.clone());
    let name = unique("forge-eip");
    let cfg = config(
        ty.schema(),
        vec![
            ("domain", s("vpc")),
            ("network_interface", s(&eni)),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("eipalloc-"), "{id}");
    assert_eq!(live.str_attr("allocation_id"), Some(id.as_str()));
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":elastic-ip/{id}"))),
        "{live:?}"
    );
    assert_eq!(live.get("vpc"), Some(&Value::Bool(true)));
    assert!(
        live.str_attr("association_id")
            .is_some_and(|a| a.starts_with("eipassoc-")),
        "{live:?}"
    );
    assert_eq!(live.str_attr("private_ip"), Some(eni_ip.as_str()));
    assert_eq!(
        live.str_attr("private_dns"),
        Some(format!("ip-{}.ec2.internal", eni_ip.replace('.', "-")).as_str())
    );
    let public_ip = live.str_attr("public_ip").expect("public ip").to_string();
    assert_eq!(
        live.str_attr("public_dns"),
        Some(
            format!(
                "ec2-{}.compute-1.amazonaws.com",
                public_ip.replace('.', "-")
            )
            .as_str()
        )
    );
    // Arguments AWS does not report stay as configured (null), as in the provider.
    assert_eq!(live.get("associate_with_private_ip"), Some(&Value::Null));
    assert_eq!(live.get("address"), Some(&Value::Null));
    assert_eq!(live.get("timeouts"), Some(&Value::Null));

    // Disassociated and retagged outside forge: read shows both; the update associates
    // it again and puts the tag back.
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                let association = live.str_attr("association_id").expect("association");
                ec2.disassociate_address()
                    .association_id(association)
                    .send()
                    .await
                    .expect("disassociate");
                ec2.create_tags()
                    .resources(&id)
                    .tags(Tag::builder().key("Name").value("changed").build())
                    .send()
                    .await
                    .expect("retag");
            },
            |drifted| {
                assert_eq!(drifted.str_attr("network_interface"), Some(""));
                assert_eq!(drifted.str_attr("association_id"), Some(""));
                assert_eq!(
                    drifted.get("tags").and_then(|t| t.get("Name")),
                    Some(&s("changed"))
                );
            },
        )
        .await;
    assert_eq!(after.str_attr("network_interface"), Some(eni.as_str()));

    // Another interface moves the association in place, as in the provider.
    let mut moved_cfg = cfg.clone();
    set(&mut moved_cfg, "network_interface", s(&other_eni));
    let moved = update(&ty, &after, &moved_cfg).await;
    assert_eq!(
        moved.str_attr("network_interface"),
        Some(other_eni.as_str())
    );
    assert_eq!(moved.str_attr("private_ip"), Some(other_ip.as_str()));
    assert_ne!(
        moved.str_attr("association_id"),
        after.str_attr("association_id")
    );
    assert_no_op(&ty, &moved, &moved_cfg);
    let live_now = ec2
        .describe_addresses()
        .allocation_ids(&id)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        live_now.addresses()[0].network_interface_id(),
        Some(other_eni.as_str())
    );

    // Arguments fixed at allocation replace the address.
    assert_replaced_when(&ty, &moved, &moved_cfg, "public_ipv4_pool", s("amazon"));
    assert_replaced_when(&ty, &moved, &moved_cfg, "address", s("198.51.100.7"));
    assert_replaced_when(
        &ty,
        &moved,
        &moved_cfg,
        "network_border_group",
        s("us-east-2"),
    );

    // Import by allocation id, and by public IP as the provider allows (the id becomes
    // the allocation id).
    let _ = cycle.import(&id, &moved).await;
    let by_ip = ty
        .import(&public_ip)
        .await
        .expect("import by ip")
        .expect("found by ip");
    assert_eq!(by_ip.str_attr("id"), Some(id.as_str()));
    let e = ty.import("not-an-eip").await.expect_err("refused");
    assert!(e.message.contains("not-an-eip"), "{e:?}");

    // Deleting disassociates first: the interface can go right after.
    cycle.delete(&moved).await;
    for interface in [&eni, &other_eni] {
        ec2.delete_network_interface()
            .network_interface_id(interface)
            .send()
            .await
            .expect("delete interface");
    }
}

/// An address associated with an instance by `instance` alone: the interface AWS picks
/// is read back, a plan is then a no-op; moving to an interface plans the instance as
/// unknown, and the update leaves the instance.
#[tokio::test]
async fn eip_associates_with_an_instance() {
    use forge_aws_ec2::eip::EipResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let subnet = default_subnet(&ec2).await;
    let ami = find_ami(&ctx).await;
    let run = ec2
        .run_instances()
        .image_id(ami.str_attr("id").expect("ami id"))
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .subnet_id(&subnet)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("run instance");
    let instance = &run.instances()[0];
    let instance_id = instance.instance_id().expect("instance id").to_string();
    let primary_eni = instance.network_interfaces()[0]
        .network_interface_id()
        .expect("primary eni")
        .to_string();
    let (eni, _) = scratch_interface(&ec2, &subnet).await;
    let ty = EipResource::new(ctx.clone());
    let cfg = config(ty.schema(), vec![("instance", s(&instance_id))]);
    let state = create(&ty, &cfg).await;
    assert_eq!(state.str_attr("instance"), Some(instance_id.as_str()));
    assert_eq!(
        state.str_attr("network_interface"),
        Some(primary_eni.as_str())
    );
    assert_eq!(state.str_attr("domain"), Some("vpc"));
    assert_no_op(&ty, &state, &cfg);
    assert_stored_state_plans_no_op(&ty, &state, &cfg).await;

    let moved_cfg = config(ty.schema(), vec![("network_interface", s(&eni))]);
    let plan = ty.plan(Some(&state), &moved_cfg).expect("plan");
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    for name in ["instance", "association_id", "private_ip"] {
        assert_eq!(plan.planned.get(name), Some(&Value::Unknown), "{name}");
    }
    let moved = ty.update(&state, &plan.planned).await.expect("update");
    assert_eq!(moved.str_attr("network_interface"), Some(eni.as_str()));
    assert_eq!(moved.str_attr("instance"), Some(""));
    assert_no_op(&ty, &moved, &moved_cfg);

    ty.delete(&moved).await.expect("delete");
    assert_eq!(ty.read(&moved).await.expect("read"), None);
    ec2.delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .expect("delete interface");
    ec2.terminate_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .expect("terminate");
}

#[tokio::test]
async fn eip_created_under_an_intent_is_found_by_its_token_only() {
    use forge_aws_ec2::eip::EipResource;
    use forge_aws_ec2::intent_tag::INTENT_TAG;
    use forge_provider::{CreateIntent, Finding, FoundBy};
    let ctx = context().await;
    let ty = EipResource::new(ctx.clone());
    let name = unique("forge-eip-intent");
    let cfg = config(ty.schema(), vec![("tags", tags(&[("Name", &name)]))]);
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    let intent = CreateIntent {
        token: forge_provider::intent::new_token((u128::from(std::process::id()) << 64) | 23),
        started: std::time::SystemTime::now(),
    };
    let other = CreateIntent {
        token: format!("{}-other", intent.token),
        ..intent.clone()
    };
    let made = ty.create_under(&planned, &intent).await.expect("create");
    assert!(
        made.get("tags_all")
            .and_then(|t| t.get(INTENT_TAG))
            .is_none()
    );
    // The answer "lost": the address is found by the intent's token, never by another's.
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the address made under the intent is not found");
    };
    assert_eq!(found.by, FoundBy::Token);
    assert_eq!(found.object.str_attr("id"), made.str_attr("id"));
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    assert_eq!(
        ty.find_created(&planned, &other).await.expect("find other"),
        Finding::Absent
    );
    // Once recorded, the marker goes: a read shows only the configured tags.
    ty.created_recorded(&made).await.expect("recorded");
    let live = ty.read(&made).await.expect("read").expect("exists");
    assert!(live.same_as(&made), "{live:?}\n{made:?}");
    assert_eq!(
        ty.find_created(&planned, &intent)
            .await
            .expect("find again"),
        Finding::Absent
    );
    ty.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn eip_refuses_retired_and_conflicting_domains() {
    use forge_aws_ec2::eip::EipResource;
    let ctx = context().await;
    let ty = EipResource::new(ctx.clone());
    let standard = config(ty.schema(), vec![("domain", s("standard"))]);
    let e = ty.plan(None, &standard).expect_err("refused");
    assert!(e.message.contains("standard"), "{e:?}");
    let both = config(
        ty.schema(),
        vec![("domain", s("vpc")), ("vpc", Value::Bool(true))],
    );
    let e = ty.plan(None, &both).expect_err("refused");
    assert!(e.message.contains("vpc"), "{e:?}");
    assert!(e.hint.is_some());
}

// --- ec2eip (#19): aws_network_interface ---

#[tokio::test]
async fn network_interface_lifecycle() {
    use forge_aws_ec2::network_interface::NetworkInterfaceResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let subnet = default_subnet(&ec2).await;
    let group = scratch_group(&ec2, "forge-eni").await;
    let other_group = scratch_group(&ec2, "forge-eni2").await;
    let ty = NetworkInterfaceResource::new(ctx.clone());
    let name = unique("forge-eni");
    let cfg = config(
        ty.schema(),
        vec![
            ("subnet_id", s(&subnet)),
            ("description", s("forge test")),
            ("private_ips_count", n(1.0)),
            ("security_groups", Value::Set(vec![s(&group)])),
            ("source_dest_check", Value::Bool(false)),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("eni-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":network-interface/{id}")))
    );
    let ips = live
        .get("private_ips")
        .and_then(Value::as_seq)
        .expect("ips");
    assert_eq!(ips.len(), 2, "{live:?}");
    assert_eq!(live.get("attachment"), Some(&Value::Set(Vec::new())));
    assert_eq!(live.str_attr("interface_type"), Some("interface"));

    // Description, source/dest check and groups changed outside forge: read shows them;
    // the update puts them back.
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                ec2.modify_network_interface_attribute()
                    .network_interface_id(&id)
                    .description(
                        aws_sdk_ec2::types::AttributeValue::builder()
                            .value("changed")
                            .build(),
                    )
                    .send()
                    .await
                    .expect("describe");
                ec2.modify_network_interface_attribute()
                    .network_interface_id(&id)
                    .groups(&other_group)
                    .send()
                    .await
                    .expect("groups");
            },
            |drifted| {
                assert_eq!(drifted.str_attr("description"), Some("changed"));
                assert_eq!(
                    drifted.get("security_groups"),
                    Some(&Value::Set(vec![s(&other_group)]))
                );
            },
        )
        .await;

    // Attached to an instance in place, one more address, and detached again.
    let ami = find_ami(&ctx).await;
    let run = ec2
        .run_instances()
        .image_id(ami.str_attr("id").expect("ami id"))
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .subnet_id(&subnet)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("run instance");
    let instance_id = run.instances()[0].instance_id().expect("id").to_string();
    let mut attached_cfg = cfg.clone();
    set(
        &mut attached_cfg,
        "attachment",
        Value::List(vec![Value::object([
            ("instance", s(&instance_id)),
            ("device_index", n(1.0)),
        ])]),
    );
    set(&mut attached_cfg, "private_ips_count", n(2.0));
    let attached = update(&ty, &after, &attached_cfg).await;
    let attachment = attached
        .get("attachment")
        .and_then(Value::as_seq)
        .and_then(|xs| xs.first())
        .expect("attachment")
        .clone();
    assert_eq!(attachment.str_attr("instance"), Some(instance_id.as_str()));
    assert!(
        attachment
            .str_attr("attachment_id")
            .is_some_and(|a| a.starts_with("eni-attach-"))
    );
    assert_eq!(
        attached
            .get("private_ips")
            .and_then(Value::as_seq)
            .map(<[_]>::len),
        Some(3)
    );
    assert_no_op(&ty, &attached, &attached_cfg);
    assert_stored_state_plans_no_op(&ty, &attached, &attached_cfg).await;

    // The subnet replaces the interface; a configured primary address without the
    // current one too.
    assert_replaced_when(
        &ty,
        &attached,
        &attached_cfg,
        "subnet_id",
        s("subnet-other"),
    );
    let mut other_primary = attached_cfg.clone();
    set(
        &mut other_primary,
        "private_ips",
        Value::Set(vec![s("172.31.15.250")]),
    );
    set(&mut other_primary, "private_ips_count", Value::Null);
    let plan = ty.plan(Some(&attached), &other_primary).expect("plan");
    assert!(
        plan.requires_replace.contains(&"private_ips".to_string()),
        "{:?}",
        plan.requires_replace
    );

    let _ = cycle.import(&id, &attached).await;
    let e = ty.import("i-123").await.expect_err("refused");
    assert!(e.message.contains("i-123"), "{e:?}");
    // Deleting detaches first.
    cycle.delete(&attached).await;
    ec2.terminate_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .expect("terminate");
    for g in [&group, &other_group] {
        ec2.delete_security_group()
            .group_id(g)
            .send()
            .await
            .expect("delete group");
    }
}

#[tokio::test]
async fn network_interface_created_under_an_intent_is_found_by_its_token_only() {
    use forge_aws_ec2::intent_tag::INTENT_TAG;
    use forge_aws_ec2::network_interface::NetworkInterfaceResource;
    use forge_provider::{CreateIntent, Finding, FoundBy};
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let subnet = default_subnet(&ec2).await;
    let ty = NetworkInterfaceResource::new(ctx.clone());
    let name = unique("forge-eni-intent");
    let cfg = config(
        ty.schema(),
        vec![
            ("subnet_id", s(&subnet)),
            ("tags", tags(&[("Name", &name)])),
        ],
    );
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    let intent = CreateIntent {
        token: forge_provider::intent::new_token((u128::from(std::process::id()) << 64) | 29),
        started: std::time::SystemTime::now(),
    };
    let other = CreateIntent {
        token: format!("{}-other", intent.token),
        ..intent.clone()
    };
    let made = ty.create_under(&planned, &intent).await.expect("create");
    assert!(
        made.get("tags_all")
            .and_then(|t| t.get(INTENT_TAG))
            .is_none()
    );
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the interface made under the intent is not found");
    };
    assert_eq!(found.by, FoundBy::Token);
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    assert_eq!(
        ty.find_created(&planned, &other).await.expect("find other"),
        Finding::Absent
    );
    ty.created_recorded(&made).await.expect("recorded");
    let live = ty.read(&made).await.expect("read").expect("exists");
    assert!(live.same_as(&made), "{live:?}\n{made:?}");
    ty.delete(&live).await.expect("delete");
}

// --- ec2lt (#19): aws_volume_attachment ---

/// An instance and a volume in its zone, for the attachment tests.
async fn instance_and_volume(ctx: &Arc<AwsContext>, name: &str) -> (Value, Value) {
    use forge_aws_ec2::ebs_volume::EbsVolumeResource;
    let ami = find_ami(ctx).await;
    let instances = InstanceResource::new(ctx.clone());
    let instance = create(
        &instances,
        &config(
            instances.schema(),
            vec![
                ("ami", s(ami.str_attr("id").expect("ami"))),
                ("instance_type", s("t3.micro")),
                ("tags", tags(&[("Name", name)])),
            ],
        ),
    )
    .await;
    let zone = instance
        .str_attr("availability_zone")
        .expect("zone")
        .to_string();
    let volumes = EbsVolumeResource::new(ctx.clone());
    let volume = create(
        &volumes,
        &config(
            volumes.schema(),
            vec![
                ("availability_zone", s(&zone)),
                ("size", n(1.0)),
                ("tags", tags(&[("Name", name)])),
            ],
        ),
    )
    .await;
    (instance, volume)
}

#[tokio::test]
async fn volume_attachment_lifecycle() {
    use forge_aws_ec2::ebs_volume::EbsVolumeResource;
    use forge_aws_ec2::volume_attachment::{VolumeAttachmentResource, attachment_id};
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let name = unique("forge-vatt");
    let (instance, volume) = instance_and_volume(&ctx, &name).await;
    let instance_id = instance.str_attr("id").expect("i-").to_string();
    let volume_id = volume.str_attr("id").expect("vol-").to_string();
    let ty = VolumeAttachmentResource::new(ctx.clone());
    let cfg = config(
        ty.schema(),
        vec![
            ("device_name", s("/dev/sdh")),
            ("volume_id", s(&volume_id)),
            ("instance_id", s(&instance_id)),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(
        live.str_attr("id"),
        Some(attachment_id("/dev/sdh", &volume_id, &instance_id).as_str())
    );
    for unset in [
        "force_detach",
        "skip_destroy",
        "stop_instance_before_detaching",
    ] {
        assert_eq!(live.get(unset), Some(&Value::Null), "{unset}");
    }
    let described = ec2
        .describe_volumes()
        .volume_ids(&volume_id)
        .send()
        .await
        .expect("describe volume");
    let attachments = described.volumes()[0].attachments();
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    assert_eq!(attachments[0].instance_id(), Some(instance_id.as_str()));
    assert_eq!(attachments[0].device(), Some("/dev/sdh"));

    // A lost answer settles on this attachment; another device is not it.
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = ty.plan(None, &cfg).expect("plan").planned;
    match ty.find_created(&planned, &intent).await.expect("find") {
        forge_provider::Finding::Found(f) => assert!(f.object.same_as(&live), "{f:?}"),
        other => panic!("not found: {other:?}"),
    }
    let mut other_device = cfg.clone();
    set(&mut other_device, "device_name", s("/dev/sdj"));
    let planned_other = ty.plan(None, &other_device).expect("plan").planned;
    assert_eq!(
        ty.find_created(&planned_other, &intent)
            .await
            .expect("find"),
        forge_provider::Finding::Absent
    );

    // Import by DEVICE_NAME:VOLUME_ID:INSTANCE_ID, as Terraform; other ids are refused.
    cycle
        .import(&format!("/dev/sdh:{volume_id}:{instance_id}"), &live)
        .await;
    for bad in [
        volume_id.clone(),
        format!("/dev/sdh:{volume_id}"),
        format!(":{volume_id}:{instance_id}"),
    ] {
        let e = ty.import(&bad).await.expect_err("malformed import id");
        assert!(
            e.message.contains("DEVICE_NAME:VOLUME_ID:INSTANCE_ID"),
            "{e:?}"
        );
    }
    assert_eq!(
        ty.import(&format!("/dev/sdk:{volume_id}:{instance_id}"))
            .await
            .expect("import"),
        None
    );

    // Detached outside forge: read says gone, and the plan's create attaches it again.
    ec2.detach_volume()
        .volume_id(&volume_id)
        .instance_id(&instance_id)
        .device("/dev/sdh")
        .send()
        .await
        .expect("detach outside forge");
    let mut gone = None;
    for _ in 0..20 {
        gone = ty.read(&live).await.expect("read");
        if gone.is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(gone, None, "a detached volume reads as no attachment");
    let live = Lifecycle::new(&ty, cfg.clone()).create().await;

    // The names replace; the delete settings change in place, with no call.
    assert_replaced_when(&ty, &live, &cfg, "device_name", s("/dev/sdj"));
    assert_replaced_when(&ty, &live, &cfg, "volume_id", s("vol-0123456789abcdef0"));
    assert_replaced_when(&ty, &live, &cfg, "instance_id", s("i-0123456789abcdef0"));
    let mut careful = cfg.clone();
    set(&mut careful, "force_detach", Value::Bool(true));
    set(
        &mut careful,
        "stop_instance_before_detaching",
        Value::Bool(true),
    );
    let changed = update(&ty, &live, &careful).await;
    assert_eq!(changed.get("force_detach"), Some(&Value::Bool(true)));
    assert_eq!(changed.str_attr("id"), live.str_attr("id"));
    assert_no_op(&ty, &changed, &careful);
    assert_stored_state_plans_no_op(&ty, &changed, &careful).await;

    // Delete stops the instance first (stop_instance_before_detaching), then detaches.
    Lifecycle::new(&ty, careful.clone()).delete(&changed).await;
    let out = ec2
        .describe_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .expect("describe instance");
    let state = out.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string());
    assert_eq!(state.as_deref(), Some("stopped"));

    // skip_destroy: the delete leaves the volume attached (to the stopped instance).
    let mut kept = cfg.clone();
    set(&mut kept, "skip_destroy", Value::Bool(true));
    let live = Lifecycle::new(&ty, kept.clone()).create().await;
    ty.delete(&live).await.expect("delete with skip_destroy");
    assert!(
        ty.read(&live).await.expect("read").is_some(),
        "skip_destroy leaves the volume attached"
    );
    let mut plain = live.clone();
    set(&mut plain, "skip_destroy", Value::Null);
    Lifecycle::new(&ty, cfg.clone()).delete(&plain).await;

    let instances = InstanceResource::new(ctx.clone());
    instances.delete(&instance).await.expect("terminate");
    EbsVolumeResource::new(ctx.clone())
        .delete(&volume)
        .await
        .expect("delete volume");
}

#[tokio::test]
async fn volume_attachment_refuses_bad_arguments_at_plan() {
    use forge_aws_ec2::volume_attachment::VolumeAttachmentResource;
    let ctx = context().await;
    let ty = VolumeAttachmentResource::new(ctx.clone());
    let base = vec![
        ("device_name", s("/dev/sdh")),
        ("volume_id", s("vol-1")),
        ("instance_id", s("i-1")),
    ];
    let mut empty = base.clone();
    empty[1] = ("volume_id", s(""));
    let e = ty
        .plan(None, &config(ty.schema(), empty))
        .expect_err("empty volume_id");
    assert!(e.message.contains("volume_id"), "{e:?}");
    let mut timed = base.clone();
    timed.push(("timeouts", Value::object([("create", s("1m"))])));
    let e = ty
        .plan(None, &config(ty.schema(), timed))
        .expect_err("timeouts");
    assert!(e.message.contains("timeouts"), "{e:?}");
    // An unknown name (another resource's id before it exists) plans, with the id unknown.
    let mut pending = base;
    pending[2] = ("instance_id", Value::Unknown);
    let plan = ty
        .plan(None, &config(ty.schema(), pending))
        .expect("plan with an unknown instance");
    assert_eq!(plan.planned.get("id"), Some(&Value::Unknown));
    // Delete settings left out after being set: the provider's state keeps them false
    // (its plan changes nothing), so forge's plan over such a state keeps them too.
    let names = vec![
        ("device_name", s("/dev/sdh")),
        ("volume_id", s("vol-1")),
        ("instance_id", s("i-1")),
    ];
    let mut recorded = names.clone();
    recorded.extend([
        ("id", s("vai-1")),
        ("force_detach", Value::Bool(false)),
        ("skip_destroy", Value::Bool(false)),
        ("stop_instance_before_detaching", Value::Bool(false)),
    ]);
    let prior = config(ty.schema(), recorded);
    let plan = ty
        .plan(Some(&prior), &config(ty.schema(), names))
        .expect("plan over the provider's state");
    for name in [
        "force_detach",
        "skip_destroy",
        "stop_instance_before_detaching",
    ] {
        assert_eq!(plan.planned.get(name), Some(&Value::Bool(false)), "{name}");
    }
}

// --- ec2lt (#19): aws_launch_template ---

fn lt_block(ty: &dyn ResourceType, path: &[&str], set: Vec<(&str, Value)>) -> Value {
    let mut schema = ty.schema();
    for name in path {
        schema = &schema.blocks[*name].schema;
    }
    block(schema, set)
}

#[tokio::test]
async fn launch_template_lifecycle() {
    use forge_aws_ec2::launch_template::LaunchTemplateResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = LaunchTemplateResource::new(ctx.clone());
    let group = scratch_group(&ec2, "forge-lt").await;
    let name = unique("forge-lt");
    let ebs = lt_block(
        &ty,
        &["block_device_mappings", "ebs"],
        vec![
            ("volume_size", n(5.0)),
            ("volume_type", s("gp3")),
            ("delete_on_termination", s("true")),
        ],
    );
    let cfg = config(
        ty.schema(),
        vec![
            ("name", s(&name)),
            ("description", s("first")),
            ("image_id", s("ami-03cf127a")),
            ("instance_type", s("t3.micro")),
            // base64 of "#!/bin/sh\necho hi\n", recorded as given.
            ("user_data", s("IyEvYmluL3NoCmVjaG8gaGkK")),
            ("vpc_security_group_ids", Value::Set(vec![s(&group)])),
            (
                "iam_instance_profile",
                Value::List(vec![lt_block(
                    &ty,
                    &["iam_instance_profile"],
                    vec![("name", s("forge-lt-profile"))],
                )]),
            ),
            (
                "block_device_mappings",
                Value::List(vec![lt_block(
                    &ty,
                    &["block_device_mappings"],
                    vec![
                        ("device_name", s("/dev/sdf")),
                        ("ebs", Value::List(vec![ebs])),
                    ],
                )]),
            ),
            (
                "metadata_options",
                Value::List(vec![lt_block(
                    &ty,
                    &["metadata_options"],
                    vec![
                        ("http_endpoint", s("enabled")),
                        ("http_tokens", s("required")),
                        ("http_put_response_hop_limit", n(2.0)),
                    ],
                )]),
            ),
            (
                "monitoring",
                Value::List(vec![lt_block(
                    &ty,
                    &["monitoring"],
                    vec![("enabled", Value::Bool(true))],
                )]),
            ),
            (
                "tag_specifications",
                Value::List(vec![lt_block(
                    &ty,
                    &["tag_specifications"],
                    vec![
                        ("resource_type", s("instance")),
                        ("tags", tags(&[("Name", &name)])),
                    ],
                )]),
            ),
            ("tags", tags(&[("Name", &name), ("team", "compute")])),
            ("update_default_version", Value::Bool(true)),
        ],
    );
    let cycle = Lifecycle::new(&ty, cfg.clone()).ignoring_on_import(&["update_default_version"]);
    let live = cycle.create().await;
    let id = live.str_attr("id").expect("id").to_string();
    assert!(id.starts_with("lt-"), "{id}");
    assert!(
        live.str_attr("arn")
            .is_some_and(|a| a.ends_with(&format!(":launch-template/{id}"))),
        "{live:?}"
    );
    assert_eq!(live.get("latest_version"), Some(&n(1.0)));
    assert_eq!(live.get("default_version"), Some(&n(1.0)));
    // The provider's rule: a name ending in 26 hexadecimal digits reads as made from a
    // prefix (unique() ends in 32), so name_prefix is what precedes them.
    assert_eq!(live.str_attr("name_prefix"), Some(&name[..name.len() - 26]));
    // The provider's empty values: "" for unset strings, [] for unset blocks.
    assert_eq!(live.str_attr("key_name"), Some(""));
    assert_eq!(live.str_attr("ebs_optimized"), Some(""));
    assert_eq!(live.get("placement"), Some(&Value::List(vec![])));
    assert_eq!(live.get("security_group_names"), Some(&Value::Set(vec![])));
    let specs = live
        .get("tag_specifications")
        .and_then(Value::as_seq)
        .expect("tag_specifications");
    assert_eq!(specs.len(), 1, "only the configured one: {specs:?}");

    // A version made outside forge (another instance type) and a tag removed show; the
    // repair is a new version made the default one.
    let untag = ec2
        .delete_tags()
        .resources(&id)
        .tags(Tag::builder().key("team").build());
    let outside_version = ec2
        .create_launch_template_version()
        .launch_template_id(&id)
        .source_version("1")
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Large)
                .build(),
        );
    let after = cycle
        .drift_and_repair(
            &live,
            async {
                outside_version.send().await.map(|_| ()).expect("version");
                untag.send().await.map(|_| ()).expect("untag");
            },
            |drifted| {
                assert_eq!(drifted.str_attr("instance_type"), Some("t3.large"));
                assert_eq!(drifted.get("latest_version"), Some(&n(2.0)));
                assert!(drifted.get("tags").and_then(|t| t.get("team")).is_none());
            },
        )
        .await;
    assert_eq!(after.get("latest_version"), Some(&n(3.0)));
    assert_eq!(after.get("default_version"), Some(&n(3.0)));

    // A new description is a new version, planned as such; the name replaces; tags alone
    // change in place without a version.
    let mut described = cfg.clone();
    set(&mut described, "description", s("second"));
    let plan = ty.plan(Some(&after), &described).expect("plan");
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    assert_eq!(plan.planned.get("latest_version"), Some(&Value::Unknown));
    assert_eq!(plan.planned.get("default_version"), Some(&Value::Unknown));
    let second = ty.update(&after, &plan.planned).await.expect("update");
    assert_eq!(second.get("latest_version"), Some(&n(4.0)));
    assert_eq!(second.get("default_version"), Some(&n(4.0)));
    assert_eq!(second.str_attr("description"), Some("second"));
    assert_no_op(&ty, &second, &described);
    assert_replaced_when(&ty, &second, &described, "name", s(&unique("forge-lt2")));
    let mut retagged = described.clone();
    set(
        &mut retagged,
        "tags",
        tags(&[("Name", &name), ("team", "web")]),
    );
    let plan = ty.plan(Some(&second), &retagged).expect("plan");
    assert_eq!(plan.planned.get("latest_version"), Some(&n(4.0)));
    let retagged_state = ty.update(&second, &plan.planned).await.expect("retag");
    assert_eq!(retagged_state.get("latest_version"), Some(&n(4.0)));
    assert_no_op(&ty, &retagged_state, &retagged);

    // default_version instead of update_default_version: the default goes back to 1.
    let mut pinned = retagged.clone();
    set(&mut pinned, "update_default_version", Value::Null);
    set(&mut pinned, "default_version", n(1.0));
    let pinned_state = update(&ty, &retagged_state, &pinned).await;
    assert_eq!(pinned_state.get("default_version"), Some(&n(1.0)));
    assert_eq!(pinned_state.get("latest_version"), Some(&n(4.0)));
    assert_no_op(&ty, &pinned_state, &pinned);
    assert_stored_state_plans_no_op(&ty, &pinned_state, &pinned).await;

    // Import by the lt- id; anything else is refused by name.
    let imported = Lifecycle::new(&ty, pinned.clone())
        .ignoring_on_import(&["update_default_version"])
        .import(&id, &pinned_state)
        .await;
    assert_eq!(imported.get("update_default_version"), Some(&Value::Null));
    let e = ty.import(&name).await.expect_err("a name is not an id");
    assert!(e.message.contains("launch template id"), "{e:?}");

    Lifecycle::new(&ty, pinned).delete(&pinned_state).await;
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("delete group");
}

#[tokio::test]
async fn launch_template_with_a_name_prefix_and_network_interfaces() {
    use forge_aws_ec2::launch_template::LaunchTemplateResource;
    let ctx = context().await;
    let ec2 = sdk(&ctx).await;
    let ty = LaunchTemplateResource::new(ctx.clone());
    let group = scratch_group(&ec2, "forge-lt-ni").await;
    let ni = lt_block(
        &ty,
        &["network_interfaces"],
        vec![
            ("associate_public_ip_address", s("true")),
            ("device_index", n(0.0)),
            ("security_groups", Value::Set(vec![s(&group)])),
        ],
    );
    let cfg = config(
        ty.schema(),
        vec![
            ("name_prefix", s("forge-lt-")),
            ("network_interfaces", Value::List(vec![ni])),
        ],
    );
    let live = Lifecycle::new(&ty, cfg.clone()).create().await;
    let name = live.str_attr("name").expect("name");
    assert!(
        name.starts_with("forge-lt-") && name.len() == "forge-lt-".len() + 26,
        "{name}"
    );
    assert_eq!(live.str_attr("name_prefix"), Some("forge-lt-"));
    // No tags: {} from the first read, where the provider's state settles at its refresh.
    assert_eq!(live.get("tags"), Some(&tags(&[])), "{live:?}");
    let nis = live
        .get("network_interfaces")
        .and_then(Value::as_seq)
        .expect("nis");
    assert_eq!(nis[0].str_attr("associate_public_ip_address"), Some("true"));
    assert_eq!(nis[0].str_attr("delete_on_termination"), Some(""));
    assert_eq!(nis[0].get("ipv4_addresses"), Some(&Value::Set(vec![])));
    // Another instance type: a new version, the default left at 1 (no update_default_version).
    let mut bigger = cfg.clone();
    set(&mut bigger, "instance_type", s("t3.small"));
    let grown = update(&ty, &live, &bigger).await;
    assert_eq!(grown.get("latest_version"), Some(&n(2.0)));
    assert_eq!(grown.get("default_version"), Some(&n(1.0)));
    assert_no_op(&ty, &grown, &bigger);
    assert_replaced_when(&ty, &grown, &bigger, "name_prefix", s("other-"));
    Lifecycle::new(&ty, bigger).delete(&grown).await;
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("delete group");
}

#[tokio::test]
async fn launch_template_refuses_what_forge_does_not_act_on() {
    use forge_aws_ec2::launch_template::LaunchTemplateResource;
    let ctx = context().await;
    let ty = LaunchTemplateResource::new(ctx.clone());
    let refused = |pairs: Vec<(&str, Value)>, word: &str| {
        let e = ty
            .plan(None, &config(ty.schema(), pairs))
            .expect_err("refused at plan");
        assert!(e.message.contains(word), "{word}: {e:?}");
    };
    refused(
        vec![(
            "cpu_options",
            Value::List(vec![lt_block(
                &ty,
                &["cpu_options"],
                vec![("core_count", n(2.0))],
            )]),
        )],
        "`cpu_options` is not supported",
    );
    refused(
        vec![(
            "network_interfaces",
            Value::List(vec![lt_block(
                &ty,
                &["network_interfaces"],
                vec![("ipv6_prefix_count", n(1.0))],
            )]),
        )],
        "network_interfaces.ipv6_prefix_count",
    );
    refused(vec![("user_data", s("#!/bin/sh\n"))], "base64");
    refused(vec![("name", s("a")), ("name_prefix", s("b"))], "conflict");
    refused(vec![("default_version", n(3.0))], "default_version");
}

#[tokio::test]
async fn launch_template_created_under_an_intent_is_found_by_its_name() {
    use forge_aws_ec2::launch_template::LaunchTemplateResource;
    use forge_provider::{CreateIntent, Finding, FoundBy};
    let ctx = context().await;
    let ty = LaunchTemplateResource::new(ctx.clone());
    let intent = CreateIntent {
        token: forge_provider::intent::new_token((u128::from(std::process::id()) << 64) | 23),
        started: std::time::SystemTime::now(),
    };
    let other = CreateIntent {
        token: format!("{}-other", intent.token),
        ..intent.clone()
    };
    // A name made from the prefix under the intent: found by that name, as the intent's.
    let prefixed = config(ty.schema(), vec![("name_prefix", s("forge-lti-"))]);
    let planned = ty.plan(None, &prefixed).expect("plan").planned;
    let made = ty.create_under(&planned, &intent).await.expect("create");
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the template made under the intent is not found");
    };
    assert_eq!(found.by, FoundBy::Token);
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    assert_eq!(
        ty.find_created(&planned, &other).await.expect("find other"),
        Finding::Absent,
        "another intent makes another name"
    );
    ty.delete(&made).await.expect("delete");
    // A configured name: found by it, with its creation time for the engine to check.
    let named = config(ty.schema(), vec![("name", s(&unique("forge-lti")))]);
    let planned = ty.plan(None, &named).expect("plan").planned;
    assert_eq!(
        ty.find_created(&planned, &intent)
            .await
            .expect("find before"),
        Finding::Absent
    );
    let made = ty.create_under(&planned, &intent).await.expect("create");
    let Finding::Found(found) = ty.find_created(&planned, &intent).await.expect("find") else {
        panic!("the named template is not found");
    };
    assert_eq!(found.by, FoundBy::Name);
    assert!(found.created.is_some());
    assert!(found.object.same_as(&made), "{:?}\n{made:?}", found.object);
    ty.delete(&made).await.expect("delete");
}
