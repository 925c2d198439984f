//! EC2's describe calls for many ids at once, for [`ReadBatcher`]s: one call answers the
//! reads of security groups (or instances, or volumes) that wait at the same time,
//! across every unit that shares the provider configuration.
//!
//! The ids go in an id *filter*, not the id list: with the list, one id that no longer
//! exists fails the whole call (`InvalidGroup.NotFound`), while a filter leaves it out,
//! and the batcher answers `None` for it alone. An id that is not well formed keeps the
//! single call (see [`batchable`]), so its error stays what it was.
//!
//! [`ReadBatcher`]: forge_aws_common::batch_read::ReadBatcher

use std::collections::HashMap;

use aws_sdk_ec2::types::{
    Filter, IamInstanceProfileAssociation, Instance, InstanceCreditSpecification, SecurityGroup,
    Volume,
};
use forge_aws_common::batch_read::ReadBatcher;
use forge_aws_common::sdk_error;
use forge_provider::ProviderResult;

/// The read batchers of one provider configuration, one per kind of object, shared by
/// every resource type and every unit root module that configuration serves
/// (`AwsContext::shared`): an instance's root volume and an `aws_ebs_volume` go in the
/// same DescribeVolumes.
pub struct Batchers {
    pub security_groups: ReadBatcher<SecurityGroup>,
    pub instances: ReadBatcher<Instance>,
    pub volumes: ReadBatcher<Volume>,
    pub profile_associations: ReadBatcher<IamInstanceProfileAssociation>,
    pub credit_specifications: ReadBatcher<InstanceCreditSpecification>,
}

impl Default for Batchers {
    fn default() -> Self {
        Batchers {
            security_groups: ReadBatcher::new(MAX_IDS),
            instances: ReadBatcher::new(MAX_IDS),
            volumes: ReadBatcher::new(MAX_IDS),
            profile_associations: ReadBatcher::new(MAX_IDS),
            credit_specifications: ReadBatcher::new(MAX_IDS),
        }
    }
}

/// The most ids one describe call carries. EC2 takes up to 200 values in one filter
/// for these calls; half that keeps each answer a page or two.
pub const MAX_IDS: usize = 100;

/// Whether `id` has the shape EC2 gives ids of this kind (`sg-` and hex digits): only
/// those go in a batch. Anything else (a hand-edited state, a typo in an import) is
/// described alone, so EC2 reports it as before.
pub fn batchable(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn id_filter(name: &str, ids: Vec<String>) -> Filter {
    Filter::builder().name(name).set_values(Some(ids)).build()
}

/// The security groups among `ids` that exist, by id.
pub async fn security_groups(
    client: &aws_sdk_ec2::Client,
    ids: Vec<String>,
) -> ProviderResult<HashMap<String, SecurityGroup>> {
    let mut found = HashMap::new();
    let mut pages = client
        .describe_security_groups()
        .filters(id_filter("group-id", ids))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for group in page.map_err(sdk_error)?.security_groups() {
            if let Some(id) = group.group_id() {
                found.insert(id.to_string(), group.clone());
            }
        }
    }
    Ok(found)
}

/// The instances among `ids` that EC2 still lists (terminated ones too, as a call by
/// id shows them), by id.
pub async fn instances(
    client: &aws_sdk_ec2::Client,
    ids: Vec<String>,
) -> ProviderResult<HashMap<String, Instance>> {
    let mut found = HashMap::new();
    let mut pages = client
        .describe_instances()
        .filters(id_filter("instance-id", ids))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for instance in page
            .map_err(sdk_error)?
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
        {
            if let Some(id) = instance.instance_id() {
                found.insert(id.to_string(), instance.clone());
            }
        }
    }
    Ok(found)
}

/// The volumes among `ids` that EC2 still lists (deleted ones too, for a while), by id.
pub async fn volumes(
    client: &aws_sdk_ec2::Client,
    ids: Vec<String>,
) -> ProviderResult<HashMap<String, Volume>> {
    let mut found = HashMap::new();
    let mut pages = client
        .describe_volumes()
        .filters(id_filter("volume-id", ids))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for volume in page.map_err(sdk_error)?.volumes() {
            if let Some(id) = volume.volume_id() {
                found.insert(id.to_string(), volume.clone());
            }
        }
    }
    Ok(found)
}

/// The CPU credit setting of each burstable instance among `ids`, by instance id.
///
/// This call is the exception to the id filter: LocalStack answers a filtered call with
/// nothing, so the ids go in the list, where one instance gone fails the whole call with
/// `InvalidInstanceID.NotFound` (only in a race: the instances were just read). Then
/// nothing is answered, and each read, finding no answer, asks alone as before
/// (`instance_settings::credit_specification`), getting the answer or the error the
/// call alone gets.
pub async fn credit_specifications(
    client: &aws_sdk_ec2::Client,
    ids: Vec<String>,
) -> ProviderResult<HashMap<String, InstanceCreditSpecification>> {
    let mut found = HashMap::new();
    // With instance ids the call takes no MaxResults and answers in one page.
    let answer = match client
        .describe_instance_credit_specifications()
        .set_instance_ids(Some(ids))
        .send()
        .await
        .map_err(sdk_error)
    {
        Ok(answer) => answer,
        Err(e) if e.code.as_deref() == Some("InvalidInstanceID.NotFound") => return Ok(found),
        Err(e) => return Err(e),
    };
    for spec in answer.instance_credit_specifications() {
        if let Some(id) = spec.instance_id() {
            found.insert(id.to_string(), spec.clone());
        }
    }
    Ok(found)
}

/// The instance profile association in force (associated, or associating) of each
/// instance among `ids` that has one, by instance id. Disassociated ones stay listed for a
/// while and are left out.
pub async fn profile_associations(
    client: &aws_sdk_ec2::Client,
    ids: Vec<String>,
) -> ProviderResult<HashMap<String, IamInstanceProfileAssociation>> {
    let mut found = HashMap::new();
    let mut pages = client
        .describe_iam_instance_profile_associations()
        .filters(id_filter("instance-id", ids))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for association in page.map_err(sdk_error)?.iam_instance_profile_associations() {
            let in_force = association
                .state()
                .is_some_and(|s| matches!(s.as_str(), "associated" | "associating"));
            if let (true, Some(instance)) = (in_force, association.instance_id()) {
                found.insert(instance.to_string(), association.clone());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_are_batched() {
        assert!(batchable("sg-0123abcd", "sg-"));
        assert!(batchable("i-0abc1234def567890", "i-"));
        assert!(!batchable("sg-", "sg-"));
        assert!(!batchable("sg-bogus", "sg-"));
        assert!(!batchable("i-0abc", "sg-"));
        assert!(!batchable("my-group", "sg-"));
    }
}
