//! `forge version`: the text people read and the JSON tools read, in the shape of
//! `terraform version` and `terraform version -json`.

use serde_json::json;

/// What the binary knows about itself.
pub struct BuildInfo<'a> {
    /// forge's own version (the crate's).
    pub version: &'a str,
    /// The git commit it was built from, or "unknown".
    pub commit: &'a str,
    /// The Terraform version whose state and plan formats forge writes.
    pub terraform_version: &'a str,
    /// Go's spelling of the platform, as Terraform prints it (`linux_amd64`).
    pub platform: String,
}

/// Go's `GOOS_GOARCH` for a Rust target's OS and architecture.
pub fn go_platform(os: &str, arch: &str) -> String {
    let os = if os == "macos" { "darwin" } else { os };
    let arch = match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => other,
    };
    format!("{os}_{arch}")
}

/// `forge v0.1.0 (commit abc1234...)` and `on linux_amd64`, as Terraform's two lines.
pub fn version_text(b: &BuildInfo) -> String {
    format!(
        "forge v{} (commit {})\non {}\nwrites Terraform {} state and plan formats\n",
        b.version, b.commit, b.platform, b.terraform_version
    )
}

/// Terraform's `version -json` document with forge's own two fields added. Providers are
/// built into the binary, so there are no provider selections to list.
pub fn version_json(b: &BuildInfo) -> serde_json::Value {
    json!({
        "terraform_version": b.terraform_version,
        "platform": b.platform,
        "provider_selections": {},
        "terraform_outdated": false,
        "forge_version": b.version,
        "forge_commit": b.commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_spelt_as_go_spells_them() {
        assert_eq!(go_platform("linux", "x86_64"), "linux_amd64");
        assert_eq!(go_platform("macos", "aarch64"), "darwin_arm64");
    }
}
