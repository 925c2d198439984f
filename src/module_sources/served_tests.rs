//! The registry protocol and archive downloads against a local server on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;

use crate::ModuleCache;
use crate::archive::{self, ArchiveFormat, Limits};
use crate::test_support::{Answer, Member, Server, read, tar_gz, zip};

fn queue_module(version: &str) -> Vec<u8> {
    let main = format!("# queue {version}\n");
    let fifo = format!("# fifo {version}\n");
    tar_gz(&[
        Member::File("main.tf", main.as_bytes()),
        Member::Dir("modules/"),
        Member::File("modules/fifo/main.tf", fifo.as_bytes()),
    ])
}

/// A registry: discovery at the well-known path, three versions of acme/queue/aws (and
/// a prerelease), downloads naming archives it serves itself: 1.0.0 by a relative
/// X-Terraform-Get, 1.1.0 by an absolute one, 2.0.0 by a JSON location.
fn registry() -> Server {
    let archives: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        ["1.0.0", "1.1.0", "2.0.0"]
            .iter()
            .map(|v| (format!("/files/queue-{v}.tgz"), queue_module(v)))
            .collect(),
    );
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let port2 = port.clone();
    let server = Server::start(move |path| -> Answer {
        let json = |v: serde_json::Value| (200, vec![], v.to_string().into_bytes());
        let port = port2.get().copied().unwrap_or(0);
        match path {
            "/.well-known/terraform.json" => {
                json(serde_json::json!({"modules.v1": "/api/modules/v1/"}))
            }
            "/api/modules/v1/acme/queue/aws/versions" => json(serde_json::json!({
                "modules": [{"versions": [
                    {"version": "1.0.0"}, {"version": "1.1.0"}, {"version": "2.0.0"}, {"version": "2.1.0-rc1"}
                ]}]
            })),
            "/api/modules/v1/acme/queue/aws/1.0.0/download" => (
                204,
                vec![(
                    "X-Terraform-Get".into(),
                    "../../../../../../../files/queue-1.0.0.tgz".into(),
                )],
                vec![],
            ),
            "/api/modules/v1/acme/queue/aws/1.1.0/download" => (
                204,
                vec![(
                    "X-Terraform-Get".into(),
                    format!("http://127.0.0.1:{port}/files/queue-1.1.0.tgz"),
                )],
                vec![],
            ),
            "/api/modules/v1/acme/queue/aws/2.0.0/download" => {
                json(serde_json::json!({"location": "/files/queue-2.0.0.tgz"}))
            }
            other => match archives.iter().find(|(p, _)| p == other) {
                Some((_, data)) => (200, vec![], data.clone()),
                None => (404, vec![], b"not found".to_vec()),
            },
        }
    });
    let _ = port.set(server.port);
    server
}

fn cache(root: &Path) -> ModuleCache {
    ModuleCache::new(root.join("cache")).with_env(|name| {
        (name == "TF_TOKEN_127_0_0_1").then(|| "registry-secret-token".to_string())
    })
}

#[test]
fn registry_versions_are_chosen_fetched_and_then_answered_by_the_cache_alone() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = registry();
    let host = format!("127.0.0.1:{}", server.port);
    let modules = cache(root.path());

    let dir = modules
        .fetch(&format!("{host}/acme/queue/aws"), Some("~> 1.0"))
        .expect("~> 1.0");
    assert_eq!(read(&dir.join("main.tf")), "# queue 1.1.0\n");
    let dir = modules
        .fetch(&format!("{host}/acme/queue/aws//modules/fifo"), None)
        .expect("newest");
    assert_eq!(
        read(&dir.join("main.tf")),
        "# fifo 2.0.0\n",
        "no prerelease unless named"
    );
    let dir = modules
        .fetch(&format!("tfr://{host}/acme/queue/aws?version=1.0.0"), None)
        .expect("tfr");
    assert_eq!(read(&dir.join("main.tf")), "# queue 1.0.0\n");
    // The token went to the registry, with each request to it.
    let seen = server.seen.lock().expect("seen").clone();
    assert!(
        seen.iter()
            .filter(|s| s.path.starts_with("/api/") || s.path.starts_with("/.well-known"))
            .all(|s| s.authorization.as_deref() == Some("Bearer registry-secret-token")),
        "{seen:?}"
    );
    // A constraint no version meets, and a module the registry does not have.
    let e = modules
        .fetch(&format!("{host}/acme/queue/aws"), Some(">= 3.0"))
        .expect_err("no such version");
    assert!(
        e.contains(&format!("{host}/acme/queue/aws"))
            && e.contains("lists no version")
            && e.contains("1.1.0"),
        "{e}"
    );
    let e = modules
        .fetch(&format!("{host}/acme/nothing/aws"), None)
        .expect_err("no such module");
    assert!(e.contains("has no module acme/nothing/aws"), "{e}");
    assert!(!e.contains("registry-secret-token"), "{e}");

    // In the same run, a version already chosen is not asked again.
    let asked = server.paths().len();
    modules
        .fetch(&format!("{host}/acme/queue/aws"), Some("~> 1.0"))
        .expect("again");
    assert_eq!(server.paths().len(), asked, "{:?}", server.paths());

    // Without the registry, a later run reads the cache: constraints the cached versions
    // meet are answered, others are errors naming the source.
    drop(server);
    let offline = cache(root.path());
    let dir = offline
        .fetch(&format!("{host}/acme/queue/aws"), Some("~> 1.0"))
        .expect("offline ~> 1.0");
    assert_eq!(read(&dir.join("main.tf")), "# queue 1.1.0\n");
    let dir = offline
        .fetch(&format!("{host}/acme/queue/aws"), Some("1.0.0"))
        .expect("offline exact");
    assert_eq!(read(&dir.join("main.tf")), "# queue 1.0.0\n");
    let e = offline
        .fetch(&format!("{host}/acme/queue/aws"), Some("~> 2.1"))
        .expect_err("not cached");
    assert!(
        e.contains(&format!("{host}/acme/queue/aws"))
            && e.contains("cannot be reached")
            && e.contains("~> 2.1"),
        "{e}"
    );
}

#[test]
fn http_archives_are_unpacked_checked_and_cached() {
    let root = tempfile::tempdir().expect("tempdir");
    let zipped = zip(&[
        Member::Dir("net/"),
        Member::File("net/main.tf", b"# net\n"),
        Member::File("README.md", b"hello\n"),
    ]);
    let digest: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&zipped)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let tgz = queue_module("9.9.9");
    let server = Server::start(move |path| match path {
        "/m.zip" => (200, vec![], zipped.clone()),
        "/get?id=7" => (200, vec![], tgz.clone()),
        "/moved.zip" => (302, vec![("Location".into(), "/m.zip".into())], vec![]),
        _ => (404, vec![], vec![]),
    });
    let modules = ModuleCache::new(root.path().join("cache"));
    let dir = modules
        .fetch(
            &format!("{}//net?checksum=sha256:{digest}", server.url("/m.zip")),
            None,
        )
        .expect("zip");
    assert_eq!(read(&dir.join("main.tf")), "# net\n");
    let dir = modules
        .fetch(
            &format!("{}//modules/fifo?id=7&archive=tgz", server.url("/get")),
            None,
        )
        .expect("tgz");
    assert_eq!(read(&dir.join("main.tf")), "# fifo 9.9.9\n");
    let dir = modules
        .fetch(&server.url("/moved.zip"), None)
        .expect("redirect");
    assert_eq!(read(&dir.join("README.md")), "hello\n");
    let e = modules
        .fetch(
            &format!(
                "{}?checksum=sha256:{}",
                server.url("/m.zip"),
                "0".repeat(64)
            ),
            None,
        )
        .expect_err("checksum");
    assert!(e.contains("/m.zip") && e.contains("sha256"), "{e}");
    let e = modules
        .fetch(&server.url("/gone.zip"), None)
        .expect_err("404");
    assert!(e.contains("/gone.zip") && e.contains("404"), "{e}");
    // Units load in parallel: fetches of one archive at once all get the whole module.
    let fresh = ModuleCache::new(root.path().join("parallel-cache"));
    let tgz_url = format!("{}//modules/fifo?id=7&archive=tgz", server.url("/get"));
    std::thread::scope(|scope| {
        let fetches: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| fresh.fetch(&tgz_url, None)))
            .collect();
        for fetch in fetches {
            let dir = fetch.join().expect("thread").expect("parallel fetch");
            assert_eq!(read(&dir.join("main.tf")), "# fifo 9.9.9\n");
        }
    });
    // The cache answers once the server is gone.
    let zip_url = server.url("/m.zip");
    drop(server);
    let dir = modules
        .fetch(&format!("{zip_url}//net?checksum=sha256:{digest}"), None)
        .expect("from the cache");
    assert_eq!(read(&dir.join("main.tf")), "# net\n");
}

fn unpack(data: &[u8], format: ArchiveFormat, limits: Limits) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    archive::unpack(data, format, dir.path(), limits).map(|()| dir)
}

#[test]
fn archives_cannot_write_outside_their_folder_or_grow_without_bound() {
    let limits = Limits::default();
    for (what, members) in [
        (
            "a .. path",
            vec![Member::File("../evil.tf", b"x".as_slice())],
        ),
        (
            "an absolute path",
            vec![Member::File("/tmp/evil.tf", b"x".as_slice())],
        ),
        ("a symlink out", vec![Member::Symlink("out", "../../etc")]),
        (
            "an absolute symlink",
            vec![Member::Symlink("passwd", "/etc/passwd")],
        ),
        // Each link's text stays inside, but followed together they leave the folder.
        (
            "a chain of symlinks",
            vec![
                Member::Dir("s/"),
                Member::Symlink("s/up", ".."),
                Member::Symlink("s/away", "up/.."),
            ],
        ),
        (
            "a dangling symlink",
            vec![Member::Symlink("nothing", "missing.tf")],
        ),
    ] {
        for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
            let data = match format {
                ArchiveFormat::Zip => zip(&members),
                _ => tar_gz(&members),
            };
            let outside = tempfile::tempdir().expect("tempdir");
            let target = outside.path().join("module");
            std::fs::create_dir(&target).expect("mkdir");
            let result = archive::unpack(&data, format, &target, limits);
            assert!(result.is_err(), "{what} ({format:?}) was unpacked");
            assert!(!outside.path().join("evil.tf").exists(), "{what}");
        }
    }
    // A link that stays inside is kept.
    let dir = unpack(
        &tar_gz(&[
            Member::File("shared/vars.tf", b"# shared\n"),
            Member::Symlink("queue/vars.tf", "../shared/vars.tf"),
        ]),
        ArchiveFormat::TarGz,
        limits,
    )
    .expect("inside link");
    assert_eq!(read(&dir.path().join("queue/vars.tf")), "# shared\n");
    // Size and entry count are bounded.
    let big = vec![b'x'; 10_000];
    let small = Limits {
        max_bytes: 4096,
        max_entries: 100,
    };
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let members = [Member::File("big.tf", big.as_slice())];
        let data = match format {
            ArchiveFormat::Zip => zip(&members),
            _ => tar_gz(&members),
        };
        let e = unpack(&data, format, small).expect_err("too big");
        assert!(e.contains("more than 4096 bytes"), "{e}");
    }
    let many: Vec<String> = (0..5).map(|i| format!("f{i}.tf")).collect();
    let members: Vec<Member<'_>> = many.iter().map(|n| Member::File(n, b"x")).collect();
    let e = unpack(
        &zip(&members),
        ArchiveFormat::Zip,
        Limits {
            max_bytes: 1 << 20,
            max_entries: 3,
        },
    )
    .expect_err("too many");
    assert!(e.contains("more than 3 entries"), "{e}");
    // Damaged archives are errors, not panics.
    let mut damaged = zip(&[Member::File("a.tf", b"# a file with some text\n")]);
    damaged[40] ^= 0xff;
    assert!(unpack(&damaged, ArchiveFormat::Zip, limits).is_err());
    assert!(unpack(b"not an archive", ArchiveFormat::TarGz, limits).is_err());
    assert!(unpack(b"not an archive", ArchiveFormat::Zip, limits).is_err());
    assert!(unpack(&[0u8; 3], ArchiveFormat::Tar, limits).is_err());
}
