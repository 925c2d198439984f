//! The schema of `aws_launch_template`, as hashicorp/aws 5.100.0 publishes it (`terraform
//! providers schema -json`), with forge's conventions: `id` and `tags_all` computed only,
//! `name` and `name_prefix` replacing the template. The blocks and arguments forge does
//! not act on are here too, so a configuration that sets them is refused by name at plan
//! (`launch_template::check_arguments`) instead of being unknown.

use forge_provider::{AttrType, Attribute, BlockType, Schema};

fn nested(schema: Schema, min_items: usize, max_items: usize, unordered: bool) -> BlockType {
    BlockType {
        schema,
        min_items,
        max_items,
        unordered,
        force_new: false,
    }
}

/// The resource's schema.
pub fn schema() -> Schema {
    Schema::new()
        .attr("arn", Attribute::computed(AttrType::String))
        .attr(
            "default_version",
            Attribute::optional_computed(AttrType::Number),
        )
        .attr("description", Attribute::optional(AttrType::String))
        .attr("disable_api_stop", Attribute::optional(AttrType::Bool))
        .attr(
            "disable_api_termination",
            Attribute::optional(AttrType::Bool),
        )
        .attr("ebs_optimized", Attribute::optional(AttrType::String))
        .attr("id", Attribute::computed(AttrType::String))
        .attr("image_id", Attribute::optional(AttrType::String))
        .attr(
            "instance_initiated_shutdown_behavior",
            Attribute::optional(AttrType::String),
        )
        .attr("instance_type", Attribute::optional(AttrType::String))
        .attr("kernel_id", Attribute::optional(AttrType::String))
        .attr("key_name", Attribute::optional(AttrType::String))
        .attr("latest_version", Attribute::computed(AttrType::Number))
        .attr(
            "name",
            Attribute::optional_computed(AttrType::String).force_new(),
        )
        .attr(
            "name_prefix",
            Attribute::optional_computed(AttrType::String).force_new(),
        )
        .attr("ram_disk_id", Attribute::optional(AttrType::String))
        .attr(
            "security_group_names",
            Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
        )
        .attr(
            "tags",
            Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
        )
        .attr(
            "tags_all",
            Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
        )
        .attr(
            "update_default_version",
            Attribute::optional(AttrType::Bool),
        )
        .attr("user_data", Attribute::optional(AttrType::String))
        .attr(
            "vpc_security_group_ids",
            Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
        )
        .block(
            "block_device_mappings",
            nested(
                Schema::new()
                    .attr("device_name", Attribute::optional(AttrType::String))
                    .attr("no_device", Attribute::optional(AttrType::String))
                    .attr("virtual_name", Attribute::optional(AttrType::String))
                    .block(
                        "ebs",
                        nested(
                            Schema::new()
                                .attr(
                                    "delete_on_termination",
                                    Attribute::optional(AttrType::String),
                                )
                                .attr("encrypted", Attribute::optional(AttrType::String))
                                .attr("iops", Attribute::optional_computed(AttrType::Number))
                                .attr("kms_key_id", Attribute::optional(AttrType::String))
                                .attr("snapshot_id", Attribute::optional(AttrType::String))
                                .attr("throughput", Attribute::optional_computed(AttrType::Number))
                                .attr(
                                    "volume_initialization_rate",
                                    Attribute::optional_computed(AttrType::Number),
                                )
                                .attr(
                                    "volume_size",
                                    Attribute::optional_computed(AttrType::Number),
                                )
                                .attr(
                                    "volume_type",
                                    Attribute::optional_computed(AttrType::String),
                                ),
                            0,
                            1,
                            false,
                        ),
                    ),
                0,
                0,
                false,
            ),
        )
        .block(
            "capacity_reservation_specification",
            nested(
                Schema::new()
                    .attr(
                        "capacity_reservation_preference",
                        Attribute::optional(AttrType::String),
                    )
                    .block(
                        "capacity_reservation_target",
                        nested(
                            Schema::new()
                                .attr(
                                    "capacity_reservation_id",
                                    Attribute::optional(AttrType::String),
                                )
                                .attr(
                                    "capacity_reservation_resource_group_arn",
                                    Attribute::optional(AttrType::String),
                                ),
                            0,
                            1,
                            false,
                        ),
                    ),
                0,
                1,
                false,
            ),
        )
        .block(
            "cpu_options",
            nested(
                Schema::new()
                    .attr("amd_sev_snp", Attribute::optional(AttrType::String))
                    .attr("core_count", Attribute::optional(AttrType::Number))
                    .attr("threads_per_core", Attribute::optional(AttrType::Number)),
                0,
                1,
                false,
            ),
        )
        .block(
            "credit_specification",
            nested(
                Schema::new().attr("cpu_credits", Attribute::optional(AttrType::String)),
                0,
                1,
                false,
            ),
        )
        .block(
            "elastic_gpu_specifications",
            nested(
                Schema::new().attr("type", Attribute::required(AttrType::String)),
                0,
                0,
                false,
            ),
        )
        .block(
            "elastic_inference_accelerator",
            nested(
                Schema::new().attr("type", Attribute::required(AttrType::String)),
                0,
                1,
                false,
            ),
        )
        .block(
            "enclave_options",
            nested(
                Schema::new().attr("enabled", Attribute::optional(AttrType::Bool)),
                0,
                1,
                false,
            ),
        )
        .block(
            "hibernation_options",
            nested(
                Schema::new().attr("configured", Attribute::required(AttrType::Bool)),
                0,
                1,
                false,
            ),
        )
        .block(
            "iam_instance_profile",
            nested(
                Schema::new()
                    .attr("arn", Attribute::optional(AttrType::String))
                    .attr("name", Attribute::optional(AttrType::String)),
                0,
                1,
                false,
            ),
        )
        .block(
            "instance_market_options",
            nested(
                Schema::new()
                    .attr("market_type", Attribute::optional(AttrType::String))
                    .block(
                        "spot_options",
                        nested(
                            Schema::new()
                                .attr(
                                    "block_duration_minutes",
                                    Attribute::optional(AttrType::Number),
                                )
                                .attr(
                                    "instance_interruption_behavior",
                                    Attribute::optional(AttrType::String),
                                )
                                .attr("max_price", Attribute::optional(AttrType::String))
                                .attr("spot_instance_type", Attribute::optional(AttrType::String))
                                .attr(
                                    "valid_until",
                                    Attribute::optional_computed(AttrType::String),
                                ),
                            0,
                            1,
                            false,
                        ),
                    ),
                0,
                1,
                false,
            ),
        )
        .block(
            "instance_requirements",
            nested(
                Schema::new()
                    .attr(
                        "accelerator_manufacturers",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr(
                        "accelerator_names",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr(
                        "accelerator_types",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr(
                        "allowed_instance_types",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("bare_metal", Attribute::optional(AttrType::String))
                    .attr(
                        "burstable_performance",
                        Attribute::optional(AttrType::String),
                    )
                    .attr(
                        "cpu_manufacturers",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr(
                        "excluded_instance_types",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr(
                        "instance_generations",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("local_storage", Attribute::optional(AttrType::String))
                    .attr(
                        "local_storage_types",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr(
                        "max_spot_price_as_percentage_of_optimal_on_demand_price",
                        Attribute::optional(AttrType::Number),
                    )
                    .attr(
                        "on_demand_max_price_percentage_over_lowest_price",
                        Attribute::optional(AttrType::Number),
                    )
                    .attr(
                        "require_hibernate_support",
                        Attribute::optional(AttrType::Bool),
                    )
                    .attr(
                        "spot_max_price_percentage_over_lowest_price",
                        Attribute::optional(AttrType::Number),
                    )
                    .block(
                        "accelerator_count",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "accelerator_total_memory_mib",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "baseline_ebs_bandwidth_mbps",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "memory_gib_per_vcpu",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "memory_mib",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::required(AttrType::Number)),
                            1,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "network_bandwidth_gbps",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "network_interface_count",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "total_local_storage_gb",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "vcpu_count",
                        nested(
                            Schema::new()
                                .attr("max", Attribute::optional(AttrType::Number))
                                .attr("min", Attribute::required(AttrType::Number)),
                            1,
                            1,
                            false,
                        ),
                    ),
                0,
                1,
                false,
            ),
        )
        .block(
            "license_specification",
            nested(
                Schema::new().attr(
                    "license_configuration_arn",
                    Attribute::required(AttrType::String),
                ),
                0,
                0,
                true,
            ),
        )
        .block(
            "maintenance_options",
            nested(
                Schema::new().attr("auto_recovery", Attribute::optional(AttrType::String)),
                0,
                1,
                false,
            ),
        )
        .block(
            "metadata_options",
            nested(
                Schema::new()
                    .attr(
                        "http_endpoint",
                        Attribute::optional_computed(AttrType::String),
                    )
                    .attr(
                        "http_protocol_ipv6",
                        Attribute::optional_computed(AttrType::String),
                    )
                    .attr(
                        "http_put_response_hop_limit",
                        Attribute::optional_computed(AttrType::Number),
                    )
                    .attr(
                        "http_tokens",
                        Attribute::optional_computed(AttrType::String),
                    )
                    .attr(
                        "instance_metadata_tags",
                        Attribute::optional_computed(AttrType::String),
                    ),
                0,
                1,
                false,
            ),
        )
        .block(
            "monitoring",
            nested(
                Schema::new().attr("enabled", Attribute::optional(AttrType::Bool)),
                0,
                1,
                false,
            ),
        )
        .block(
            "network_interfaces",
            nested(
                Schema::new()
                    .attr(
                        "associate_carrier_ip_address",
                        Attribute::optional(AttrType::String),
                    )
                    .attr(
                        "associate_public_ip_address",
                        Attribute::optional(AttrType::String),
                    )
                    .attr(
                        "delete_on_termination",
                        Attribute::optional(AttrType::String),
                    )
                    .attr("description", Attribute::optional(AttrType::String))
                    .attr("device_index", Attribute::optional(AttrType::Number))
                    .attr("interface_type", Attribute::optional(AttrType::String))
                    .attr("ipv4_address_count", Attribute::optional(AttrType::Number))
                    .attr(
                        "ipv4_addresses",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("ipv4_prefix_count", Attribute::optional(AttrType::Number))
                    .attr(
                        "ipv4_prefixes",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("ipv6_address_count", Attribute::optional(AttrType::Number))
                    .attr(
                        "ipv6_addresses",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("ipv6_prefix_count", Attribute::optional(AttrType::Number))
                    .attr(
                        "ipv6_prefixes",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("network_card_index", Attribute::optional(AttrType::Number))
                    .attr(
                        "network_interface_id",
                        Attribute::optional(AttrType::String),
                    )
                    .attr("primary_ipv6", Attribute::optional(AttrType::String))
                    .attr("private_ip_address", Attribute::optional(AttrType::String))
                    .attr(
                        "security_groups",
                        Attribute::optional(AttrType::Set(Box::new(AttrType::String))),
                    )
                    .attr("subnet_id", Attribute::optional(AttrType::String))
                    .block(
                        "connection_tracking_specification",
                        nested(
                            Schema::new()
                                .attr(
                                    "tcp_established_timeout",
                                    Attribute::optional(AttrType::Number),
                                )
                                .attr("udp_stream_timeout", Attribute::optional(AttrType::Number))
                                .attr("udp_timeout", Attribute::optional(AttrType::Number)),
                            0,
                            1,
                            false,
                        ),
                    )
                    .block(
                        "ena_srd_specification",
                        nested(
                            Schema::new()
                                .attr("ena_srd_enabled", Attribute::optional(AttrType::Bool))
                                .block(
                                    "ena_srd_udp_specification",
                                    nested(
                                        Schema::new().attr(
                                            "ena_srd_udp_enabled",
                                            Attribute::optional(AttrType::Bool),
                                        ),
                                        0,
                                        1,
                                        false,
                                    ),
                                ),
                            0,
                            1,
                            false,
                        ),
                    ),
                0,
                0,
                false,
            ),
        )
        .block(
            "placement",
            nested(
                Schema::new()
                    .attr("affinity", Attribute::optional(AttrType::String))
                    .attr("availability_zone", Attribute::optional(AttrType::String))
                    .attr("group_name", Attribute::optional(AttrType::String))
                    .attr("host_id", Attribute::optional(AttrType::String))
                    .attr(
                        "host_resource_group_arn",
                        Attribute::optional(AttrType::String),
                    )
                    .attr("partition_number", Attribute::optional(AttrType::Number))
                    .attr("spread_domain", Attribute::optional(AttrType::String))
                    .attr("tenancy", Attribute::optional(AttrType::String)),
                0,
                1,
                false,
            ),
        )
        .block(
            "private_dns_name_options",
            nested(
                Schema::new()
                    .attr(
                        "enable_resource_name_dns_a_record",
                        Attribute::optional(AttrType::Bool),
                    )
                    .attr(
                        "enable_resource_name_dns_aaaa_record",
                        Attribute::optional(AttrType::Bool),
                    )
                    .attr("hostname_type", Attribute::optional(AttrType::String)),
                0,
                1,
                false,
            ),
        )
        .block(
            "tag_specifications",
            nested(
                Schema::new()
                    .attr("resource_type", Attribute::optional(AttrType::String))
                    .attr(
                        "tags",
                        Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                    ),
                0,
                0,
                false,
            ),
        )
}
