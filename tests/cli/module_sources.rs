//! Remote module sources end to end: git repositories (below), and registry modules,
//! HTTP and S3 archives (the last test). A unit's `terraform { source }` and a `module`
//! block naming `git::file://` addresses of a local bare repository (tag, branch,
//! `//subdir`), fetched into the module cache, then planned again from the cache alone
//! once the repository is gone.

use std::path::Path;
use std::process::Command;

use super::World;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn git_sources_are_fetched_by_ref_and_then_read_from_the_cache() {
    let repo = tempfile::tempdir().expect("tempdir");
    let work = repo.path().join("work");
    std::fs::create_dir_all(work.join("modules/named")).expect("mkdir");
    let module = |text: &str| {
        format!(
            "variable \"name\" {{\n  type = string\n}}\nresource \"terraform_data\" \"n\" {{\n  input = \"${{var.name}}-{text}\"\n}}\noutput \"value\" {{\n  value = terraform_data.n.output\n}}\n"
        )
    };
    std::fs::write(work.join("modules/named/main.tf"), module("v1")).expect("write");
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "v1"]);
    git(&work, &["tag", "v1.0.0"]);
    std::fs::write(work.join("modules/named/main.tf"), module("main")).expect("write");
    git(&work, &["commit", "--quiet", "-am", "main"]);
    git(
        repo.path(),
        &["clone", "--quiet", "--bare", "work", "modules.git"],
    );
    let url = format!("git::file://{}", repo.path().join("modules.git").display());

    let w = World::new(&[
        (
            "env/pinned/terragrunt.hcl",
            &format!(
                "terraform {{\n  source = \"{url}//modules/named?ref=v1.0.0\"\n}}\ninputs = {{\n  name = \"pinned\"\n}}\n"
            ),
        ),
        (
            "env/caller/main.tf",
            &format!(
                "module \"latest\" {{\n  source = \"{url}//modules/named?ref=main\"\n  name   = \"caller\"\n}}\noutput \"value\" {{\n  value = module.latest.value\n}}\n"
            ),
        ),
        ("env/caller/terragrunt.hcl", "inputs = {}\n"),
    ]);
    let cache = w.path("module-cache");
    let cache = cache.to_str().expect("utf-8 path");
    let env = [("FORGE_MODULE_CACHE", cache)];
    let run = w.forge_with(&["apply", "env", "-auto-approve"], "", &env);
    assert_eq!(run.code, 0, "{}", run.all());
    let out = w.forge_with(&["output", "env/pinned", "-raw", "value"], "", &env);
    assert_eq!(out.stdout, "pinned-v1", "{}", out.all());
    let out = w.forge_with(&["output", "env/caller", "-raw", "value"], "", &env);
    assert_eq!(out.stdout, "caller-main", "{}", out.all());

    // Without the repository, the cache answers: no changes.
    std::fs::remove_dir_all(repo.path()).expect("remove the repository");
    let run = w.forge_with(&["plan", "env", "-detailed-exitcode"], "", &env);
    assert_eq!(run.code, 0, "{}", run.all());

    // A ref never fetched is an error naming the source and its place.
    w.write(&[(
        "env/pinned/terragrunt.hcl",
        &format!("terraform {{\n  source = \"{url}//modules/named?ref=v2.0.0\"\n}}\n"),
    )]);
    let run = w.forge_with(&["plan", "env"], "", &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("?ref=v2.0.0") && run.stderr.contains("env/pinned/terragrunt.hcl:2:"),
        "{}",
        run.stderr
    );
}

/// A module archive: a `name` input, and an output naming the module's version.
fn versioned_module(version: &str) -> String {
    format!(
        "variable \"name\" {{\n  type = string\n}}\nresource \"terraform_data\" \"n\" {{\n  input = \"${{var.name}}-{version}\"\n}}\noutput \"value\" {{\n  value = terraform_data.n.output\n}}\n"
    )
}

/// Registry modules (a `module` block's `version` constraint and a unit's `tfr://`
/// source), an HTTP archive and an S3 archive on the emulator (named by AWS's URL form
/// with AWS_ENDPOINT_URL, and by the emulator's own endpoint), all fetched by forge
/// from a registry and archive server on the loopback address; then planned again from
/// the cache alone once the server is gone.
#[tokio::test]
async fn registry_http_and_s3_modules_are_fetched_and_then_read_from_the_cache() {
    use forge_module_sources::test_support::{Member, Server, tar_gz, zip};

    // The S3 archive holds version 1.2.0, on the emulator.
    let bucket = crate::emulator::unique("forge-modsrc");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&crate::emulator::sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create the bucket");
    let v120 = versioned_module("1.2.0");
    s3.put_object()
        .bucket(&bucket)
        .key("modules/queue-1.2.0.tgz")
        .body(tar_gz(&[Member::File("queue/main.tf", v120.as_bytes())]).into())
        .send()
        .await
        .expect("upload the archive");

    let v200 = versioned_module("2.0.0");
    let zipped = zip(&[Member::File("queue/main.tf", v200.as_bytes())]);
    let s3_location = format!("s3::https://s3.amazonaws.com/{bucket}/modules/queue-1.2.0.tgz");
    let server = Server::start(move |path| {
        let json = |v: &str| (200, vec![], v.as_bytes().to_vec());
        match path {
            "/.well-known/terraform.json" => json(r#"{"modules.v1": "/v1/modules/"}"#),
            "/v1/modules/acme/queue/aws/versions" => json(
                r#"{"modules": [{"versions": [{"version": "1.1.0"}, {"version": "1.2.0"}, {"version": "2.0.0"}]}]}"#,
            ),
            "/v1/modules/acme/queue/aws/1.2.0/download" => (
                204,
                vec![("X-Terraform-Get".into(), s3_location.clone())],
                vec![],
            ),
            "/v1/modules/acme/queue/aws/2.0.0/download" => (
                204,
                vec![("X-Terraform-Get".into(), "/files/queue-2.0.0.zip".into())],
                vec![],
            ),
            "/files/queue-2.0.0.zip" => (200, vec![], zipped.clone()),
            _ => (404, vec![], vec![]),
        }
    });
    let host = format!("127.0.0.1:{}", server.port);
    // The same object by the emulator's own endpoint (the form for S3-compatible
    // services other than AWS).
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("emulator variables");
    let w = World::new(&[
        (
            "env/s3/terragrunt.hcl",
            &format!(
                "terraform {{\n  source = \"s3::{endpoint}/{bucket}/modules/queue-1.2.0.tgz//queue\"\n}}\ninputs = {{\n  name = \"s3\"\n}}\n"
            ),
        ),
        (
            "env/registry/main.tf",
            &format!(
                "module \"queue\" {{\n  source  = \"{host}/acme/queue/aws//queue\"\n  version = \"~> 1.1\"\n  name    = \"registry\"\n}}\noutput \"value\" {{\n  value = module.queue.value\n}}\n"
            ),
        ),
        ("env/registry/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/tfr/terragrunt.hcl",
            &format!(
                "terraform {{\n  source = \"tfr://{host}/acme/queue/aws//queue?version=2.0.0\"\n}}\ninputs = {{\n  name = \"tfr\"\n}}\n"
            ),
        ),
        (
            "env/archive/terragrunt.hcl",
            &format!(
                "terraform {{\n  source = \"http://{host}/files/queue-2.0.0.zip//queue\"\n}}\ninputs = {{\n  name = \"archive\"\n}}\n"
            ),
        ),
    ]);
    let cache = w.path("module-cache");
    let cache = cache.to_str().expect("utf-8 path");
    let token = "registry-token-never-shown";
    let env = [("FORGE_MODULE_CACHE", cache), ("TF_TOKEN_127_0_0_1", token)];
    let run = w.forge_with(&["apply", "env", "-auto-approve"], "", &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains(token), "{}", run.all());
    for (unit, expected) in [
        ("env/registry", "registry-1.2.0"),
        ("env/tfr", "tfr-2.0.0"),
        ("env/archive", "archive-2.0.0"),
        ("env/s3", "s3-1.2.0"),
    ] {
        let out = w.forge_with(&["output", unit, "-raw", "value"], "", &env);
        assert_eq!(out.stdout, expected, "{}", out.all());
    }
    let asked = server.paths();
    assert!(
        asked
            .iter()
            .any(|p| p == "/v1/modules/acme/queue/aws/versions"),
        "{asked:?}"
    );
    let authorized = server.seen.lock().expect("seen").clone();
    assert!(
        authorized
            .iter()
            .filter(|s| s.path.starts_with("/v1/"))
            .all(|s| s.authorization.as_deref() == Some(&format!("Bearer {token}"))),
        "{authorized:?}"
    );

    // Without the registry, the archive server and the S3 object, the cache answers:
    // no changes.
    drop(server);
    s3.delete_object()
        .bucket(&bucket)
        .key("modules/queue-1.2.0.tgz")
        .send()
        .await
        .expect("delete the archive");
    let run = w.forge_with(&["plan", "env", "-detailed-exitcode"], "", &env);
    assert_eq!(run.code, 0, "{}", run.all());

    // A constraint the cache cannot meet without the registry is an error naming the
    // source and its place.
    w.write(&[(
        "env/registry/main.tf",
        &format!(
            "module \"queue\" {{\n  source  = \"{host}/acme/queue/aws//queue\"\n  version = \"~> 3.0\"\n  name    = \"registry\"\n}}\n"
        ),
    )]);
    let run = w.forge_with(&["plan", "env/registry"], "", &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains(&format!("{host}/acme/queue/aws//queue"))
            && run.stderr.contains("~> 3.0")
            && run.stderr.contains("env/registry/main.tf:2:"),
        "{}",
        run.stderr
    );
    s3.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete the bucket");
}

/// Module downloads go through the proxy the environment names, as Terraform's do: an
/// archive fetched with HTTP_PROXY set (a user and password in it) passes through the
/// proxy's CONNECT tunnel with those credentials, never printed; with the proxy gone the
/// error names it.
#[test]
fn module_downloads_go_through_the_proxy_the_environment_names() {
    use forge_module_sources::test_support::{Member, Server, tar_gz};

    let module = versioned_module("3.0.0");
    let archive = tar_gz(&[Member::File("queue/main.tf", module.as_bytes())]);
    let server = Server::start(move |path| match path {
        "/files/queue.tgz" => (200, vec![], archive.clone()),
        _ => (404, vec![], vec![]),
    });
    let proxy = Server::connect_proxy();
    let w = World::new(&[(
        "env/u/terragrunt.hcl",
        &format!(
            "terraform {{\n  source = \"{}//queue\"\n}}\ninputs = {{\n  name = \"proxied\"\n}}\n",
            server.url("/files/queue.tgz")
        ),
    )]);
    let proxy_url = format!("http://forge:pr0xy-pass@127.0.0.1:{}", proxy.port);
    let cache = w.path("module-cache");
    let cache = cache.to_str().expect("utf-8 path");
    let env = [
        ("FORGE_MODULE_CACHE", cache),
        ("HTTP_PROXY", proxy_url.as_str()),
        ("http_proxy", proxy_url.as_str()),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    let run = w.forge_with(&["apply", "env", "-auto-approve"], "", &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("pr0xy-pass"), "{}", run.all());
    let out = w.forge_with(&["output", "env/u", "-raw", "value"], "", &env);
    assert_eq!(out.stdout, "proxied-3.0.0", "{}", out.all());
    let tunnels = proxy.seen.lock().expect("seen").clone();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    assert_eq!(tunnels[0].path, format!("127.0.0.1:{}", server.port));
    // base64("forge:pr0xy-pass")
    assert_eq!(
        tunnels[0].authorization.as_deref(),
        Some("Basic Zm9yZ2U6cHIweHktcGFzcw==")
    );
    assert_eq!(server.paths(), ["/files/queue.tgz"]);

    // The proxy gone, a download the cache cannot answer fails naming the proxy.
    let port = proxy.port;
    drop(proxy);
    let cache2 = w.path("module-cache-2");
    let cache2 = cache2.to_str().expect("utf-8 path");
    let env = [
        ("FORGE_MODULE_CACHE", cache2),
        ("HTTP_PROXY", proxy_url.as_str()),
        ("http_proxy", proxy_url.as_str()),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    let run = w.forge_with(&["plan", "env"], "", &env);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains(&format!(
            "through the proxy http://127.0.0.1:{port}/ failed"
        )),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("pr0xy-pass"), "{}", run.all());
}

/// An S3 archive is fetched through the proxy the environment names too (the SDK's own
/// proxy support: the emulator's plain-HTTP endpoint is asked in absolute form through
/// the proxy, with the proxy URL's credentials), never printing them.
#[tokio::test]
async fn s3_module_archives_go_through_the_proxy_the_environment_names() {
    use forge_module_sources::test_support::{Member, Server, tar_gz};

    let bucket = crate::emulator::unique("forge-modproxy");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&crate::emulator::sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create the bucket");
    let module = versioned_module("4.0.0");
    s3.put_object()
        .bucket(&bucket)
        .key("modules/queue.tgz")
        .body(tar_gz(&[Member::File("queue/main.tf", module.as_bytes())]).into())
        .send()
        .await
        .expect("upload the archive");
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("emulator variables");
    assert!(endpoint.starts_with("http://"), "{endpoint}");
    let proxy = Server::connect_proxy();
    let w = World::new(&[(
        "env/u/terragrunt.hcl",
        &format!(
            "terraform {{\n  source = \"s3::{endpoint}/{bucket}/modules/queue.tgz//queue\"\n}}\ninputs = {{\n  name = \"s3proxied\"\n}}\n"
        ),
    )]);
    let proxy_url = format!("http://forge:pr0xy-pass@127.0.0.1:{}", proxy.port);
    let cache = w.path("module-cache");
    let cache = cache.to_str().expect("utf-8 path");
    let env = [
        ("FORGE_MODULE_CACHE", cache),
        ("HTTP_PROXY", proxy_url.as_str()),
        ("http_proxy", proxy_url.as_str()),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    let run = w.forge_with(&["apply", "env", "-auto-approve"], "", &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("pr0xy-pass"), "{}", run.all());
    let out = w.forge_with(&["output", "env/u", "-raw", "value"], "", &env);
    assert_eq!(out.stdout, "s3proxied-4.0.0", "{}", out.all());
    let asked = proxy.seen.lock().expect("seen").clone();
    let object = asked
        .iter()
        .find(|s| {
            s.path.starts_with("http://") && s.path.contains(&format!("{bucket}/modules/queue.tgz"))
        })
        .unwrap_or_else(|| panic!("the object was not asked through the proxy: {asked:?}"));
    // base64("forge:pr0xy-pass")
    assert_eq!(
        object.authorization.as_deref(),
        Some("Basic Zm9yZ2U6cHIweHktcGFzcw==")
    );
    s3.delete_object()
        .bucket(&bucket)
        .key("modules/queue.tgz")
        .send()
        .await
        .expect("delete the archive");
    s3.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete the bucket");
}
