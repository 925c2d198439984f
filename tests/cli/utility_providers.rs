//! The built-in utility providers (random, null, time; `providers/utility`) end to end: a
//! unit using a type of each, with `required_providers` naming hashicorp's sources and an
//! empty `provider "random"` block, applied with its state in the emulators' S3 backend;
//! the state has the providers' shape (addresses, schema versions, sensitive attributes);
//! a second plan is clean; a `keepers` change replaces exactly what it keeps; destroy
//! empties the state. No provider is downloaded: none is available offline here.

use super::s3_unit::{Backend, forge, resources};
use crate::emulator::unique;

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-utility-providers".to_string(),
        table: "forge-cli-utility-providers-locks".to_string(),
        use_lockfile: false,
    }
}

const MAIN_TF: &str = r#"
terraform {
  required_providers {
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    null = {
      source = "hashicorp/null"
    }
    time = {
      source = "registry.terraform.io/hashicorp/time"
    }
  }
}

provider "random" {}

variable "generation" {
  type = string
}

resource "random_password" "jwt" {
  length           = 48
  min_special      = 2
  min_upper        = 3
  override_special = "-_"
  keepers = {
    generation = var.generation
  }
}

resource "random_string" "suffix" {
  length  = 6
  special = false
  upper   = false
}

resource "random_id" "bucket" {
  byte_length = 8
  prefix      = "app-"
}

resource "random_uuid" "run" {}

resource "random_integer" "port" {
  min = 8000
  max = 8999
}

resource "random_shuffle" "azs" {
  input        = ["a", "b", "c"]
  result_count = 2
}

resource "random_pet" "name" {
  keepers = {
    generation = var.generation
  }
}

import {
  to = random_string.imported
  id = "kept-value"
}

resource "random_string" "imported" {
  length = 10
}

resource "null_resource" "hook" {
  triggers = {
    pet = random_pet.name.id
  }
}

data "null_data_source" "values" {
  inputs = {
    port = random_integer.port.result
  }
}

resource "time_static" "created" {}

resource "time_rotating" "key" {
  rotation_days = 30
}

resource "time_offset" "expiry" {
  base_rfc3339 = time_static.created.rfc3339
  offset_days  = 7
}

resource "time_sleep" "settle" {
  create_duration = "1s"
  depends_on      = [null_resource.hook]
}

output "password" {
  value     = random_password.jwt.result
  sensitive = true
}

output "pet" {
  value = random_pet.name.id
}

output "port" {
  value = data.null_data_source.values.outputs["port"]
}
"#;

fn instance<'a>(state: &'a serde_json::Value, ty: &str, name: &str) -> &'a serde_json::Value {
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["mode"] == "managed" && r["type"] == ty && r["name"] == name)
        .unwrap_or_else(|| panic!("{ty}.{name} is not in the state: {state}"))
}

fn attrs<'a>(state: &'a serde_json::Value, ty: &str, name: &str) -> &'a serde_json::Value {
    &instance(state, ty, name)["instances"][0]["attributes"]
}

#[tokio::test]
async fn cli_utility_providers_apply_plan_clean_replace_by_keepers_and_destroy() {
    let backend = backend();
    let prefix = unique("utility");
    let key = format!("{prefix}/app/terraform.tfstate");
    let unit = |generation: &str| {
        backend.terragrunt_hcl(
            &key,
            &format!("inputs = {{\n  generation = \"{generation}\"\n}}\n"),
        )
    };
    let world = super::World::new(&[
        ("env/app/terragrunt.hcl", &unit("1")),
        ("env/app/main.tf", MAIN_TF),
    ]);
    let dir = world.dir.path();

    let applied = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(
        resources(&state),
        [
            "null_resource.hook",
            "random_id.bucket",
            "random_integer.port",
            "random_password.jwt",
            "random_pet.name",
            "random_shuffle.azs",
            "random_string.imported",
            "random_string.suffix",
            "random_uuid.run",
            "time_offset.expiry",
            "time_rotating.key",
            "time_sleep.settle",
            "time_static.created",
        ]
    );

    // The providers' addresses and schema versions, the password's sensitive attributes.
    let jwt = instance(&state, "random_password", "jwt");
    assert_eq!(
        jwt["provider"],
        "provider[\"registry.terraform.io/hashicorp/random\"]"
    );
    assert_eq!(jwt["instances"][0]["schema_version"], 3);
    assert_eq!(
        instance(&state, "random_string", "suffix")["instances"][0]["schema_version"],
        2
    );
    assert_eq!(
        instance(&state, "null_resource", "hook")["provider"],
        "provider[\"registry.terraform.io/hashicorp/null\"]"
    );
    assert_eq!(
        instance(&state, "time_static", "created")["provider"],
        "provider[\"registry.terraform.io/hashicorp/time\"]"
    );
    let sensitive = jwt["instances"][0]["sensitive_attributes"].to_string();
    assert!(
        sensitive.contains("\"result\"") && sensitive.contains("\"bcrypt_hash\""),
        "{sensitive}"
    );
    let password = attrs(&state, "random_password", "jwt")["result"]
        .as_str()
        .expect("password")
        .to_string();
    assert_eq!(password.chars().count(), 48);
    assert!(
        password.chars().filter(|c| "-_".contains(*c)).count() >= 2,
        "{password}"
    );
    assert!(
        password.chars().filter(char::is_ascii_uppercase).count() >= 3,
        "{password}"
    );
    assert!(
        password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)),
        "{password}"
    );
    assert!(
        attrs(&state, "random_password", "jwt")["bcrypt_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("$2a$10$")),
        "{jwt}"
    );
    assert!(
        !applied.all().contains(&password),
        "the password was printed:\n{}",
        applied.all()
    );
    let suffix = attrs(&state, "random_string", "suffix")["result"]
        .as_str()
        .expect("suffix");
    assert!(
        suffix.len() == 6
            && suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{suffix}"
    );
    assert_eq!(
        attrs(&state, "random_string", "imported")["result"],
        "kept-value"
    );
    assert!(
        attrs(&state, "random_id", "bucket")["b64_url"]
            .as_str()
            .is_some_and(|s| s.starts_with("app-") && s.len() == 4 + 11),
        "{state}"
    );
    let port = attrs(&state, "random_integer", "port")["result"]
        .as_i64()
        .expect("port");
    assert!((8000..=8999).contains(&port));
    assert_eq!(state["outputs"]["port"]["value"], port.to_string());
    assert_eq!(
        attrs(&state, "random_shuffle", "azs")["result"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let pet = attrs(&state, "random_pet", "name")["id"]
        .as_str()
        .expect("pet")
        .to_string();
    assert_eq!(pet.split('-').count(), 2, "{pet}");
    assert_eq!(
        attrs(&state, "null_resource", "hook")["triggers"]["pet"],
        pet.as_str()
    );
    let created = attrs(&state, "time_static", "created")["rfc3339"]
        .as_str()
        .expect("rfc3339");
    assert_eq!(
        attrs(&state, "time_offset", "expiry")["base_rfc3339"],
        created
    );
    assert!(attrs(&state, "time_rotating", "key")["rotation_rfc3339"].is_string());
    assert_eq!(
        attrs(&state, "time_sleep", "settle")["create_duration"],
        "1s"
    );

    // Nothing changes on a second plan.
    let clean = forge(dir, &["plan", "env", "--detailed-exitcode"], &[]);
    assert_eq!(
        clean.code,
        0,
        "a second plan is not clean:\n{}",
        clean.all()
    );

    // A new generation replaces what it keeps (and what depends on the pet), nothing else.
    world.write(&[("env/app/terragrunt.hcl", &unit("2"))]);
    let planned = forge(dir, &["plan", "env", "--detailed-exitcode"], &[]);
    assert_eq!(planned.code, 2, "{}", planned.all());
    for replaced in [
        "random_password.jwt",
        "random_pet.name",
        "null_resource.hook",
    ] {
        assert!(
            planned
                .stdout
                .contains(&format!("{replaced} must be replaced")),
            "{replaced}:\n{}",
            planned.all()
        );
    }
    assert!(
        planned
            .stdout
            .contains("3 to add, 0 to change, 3 to destroy"),
        "{}",
        planned.all()
    );
    let reapplied = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(reapplied.code, 0, "{}", reapplied.all());
    let after = backend.state(&key).await.expect("state in S3");
    let new_password = attrs(&after, "random_password", "jwt")["result"]
        .as_str()
        .expect("password");
    assert_ne!(new_password, password);
    assert!(
        !reapplied.all().contains(new_password),
        "{}",
        reapplied.all()
    );
    assert_eq!(
        attrs(&after, "random_string", "suffix")["result"].as_str(),
        Some(suffix)
    );
    assert_eq!(
        attrs(&after, "random_password", "jwt")["keepers"]["generation"],
        "2"
    );
    let clean = forge(dir, &["plan", "env", "--detailed-exitcode"], &[]);
    assert_eq!(clean.code, 0, "{}", clean.all());

    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
    let gone = backend.state(&key).await.expect("state in S3");
    assert!(resources(&gone).is_empty(), "{gone}");
}
