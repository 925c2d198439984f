//! Remote module sources end to end: a unit's `terraform { source }` and a `module`
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
