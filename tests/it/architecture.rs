//! ARCHITECTURE.md against the code (in the spirit of rust-analyzer's tidy
//! tests): every crate has its section, and every path and Rust item the
//! codemap names exists, so the map cannot drift from the territory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// The text of every `code span` of `markdown`.
fn code_spans(markdown: &str) -> Vec<&str> {
    markdown
        .split("```")
        .step_by(2) // outside fenced blocks
        .flat_map(|text| text.split('`').skip(1).step_by(2))
        .collect()
}

fn crates() -> BTreeSet<String> {
    std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every `.rs` file of a crate, read.
fn sources(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    found
}

#[test]
fn every_crate_has_its_section() {
    let map = architecture();
    let missing: Vec<String> = crates()
        .into_iter()
        .filter(|name| !map.contains(&format!("### `crates/{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "crates without a section in ARCHITECTURE.md: {missing:?}"
    );
}

#[test]
fn every_path_the_codemap_names_exists() {
    let root = root();
    let map = architecture();
    let missing: Vec<&str> = code_spans(&map)
        .into_iter()
        .filter(|span| {
            let first = span.split('/').next().unwrap_or_default();
            span.contains('/')
                && !span.contains(['{', '*', ' ', '<', ':'])
                && [
                    "crates",
                    "tests",
                    "storefront",
                    "federation",
                    "vendor",
                    "docs",
                    "scripts",
                ]
                .contains(&first)
        })
        .filter(|path| !root.join(path.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

/// `bistro_x::module::Item` and `bistro_x::function(…)`: the crate, each
/// module on the way and the last item (a function, a type, a trait or a
/// constant) exist.
#[test]
fn every_rust_item_the_codemap_names_exists() {
    let crates = crates();
    let mut wrong = Vec::new();
    for span in code_spans(&architecture()) {
        let Some(path) = span.split(['(', ' ', '<', '{']).next() else {
            continue;
        };
        let segments: Vec<&str> = path.split("::").collect();
        let Some(krate) = segments[0].strip_prefix("bistro_") else {
            continue;
        };
        let dir_name = format!("bistro-{}", krate.replace('_', "-"));
        let mut dir = if krate == "tests" {
            root().join("tests").join("src")
        } else if crates.contains(&dir_name) {
            root().join("crates").join(&dir_name).join("src")
        } else {
            wrong.push(format!("{span}: no crate {dir_name}"));
            continue;
        };
        let all = sources(&dir);
        for (index, segment) in segments.iter().enumerate().skip(1) {
            let last = index + 1 == segments.len();
            let is_module = !last && segment.chars().next().is_some_and(char::is_lowercase);
            if is_module {
                let file = dir.join(format!("{segment}.rs"));
                let folder = dir.join(segment);
                if !file.exists() && !folder.exists() {
                    wrong.push(format!("{span}: no module {segment}"));
                    break;
                }
                dir = folder;
            } else if let Some(name) = segment.strip_suffix('!') {
                if !all
                    .iter()
                    .any(|source| source.contains(&format!("macro_rules! {name}")))
                {
                    wrong.push(format!("{span}: no macro {name} in {dir_name}"));
                }
            } else if last && !segment.is_empty() {
                let declared = [
                    "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "mod ",
                ]
                .iter()
                .any(|kind| {
                    all.iter().any(|source| {
                        source.contains(&format!("{kind}{segment}(")) && *kind == "fn "
                            || source.contains(&format!("{kind}{segment} "))
                            || source.contains(&format!("{kind}{segment}<"))
                            || source.contains(&format!("{kind}{segment};"))
                            || source.contains(&format!("{kind}{segment}:"))
                            || source.contains(&format!("{kind}{segment}("))
                    })
                });
                // Methods and variants named through their type (`Api::new`).
                let member = segments.len() >= 2
                    && segments[index - 1]
                        .chars()
                        .next()
                        .is_some_and(char::is_uppercase);
                if !declared && !member {
                    wrong.push(format!(
                        "{span}: {segment} is declared nowhere in {dir_name}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md names what the code does not have:\n{}",
        wrong.join("\n")
    );
}

/// The crates a row of ARCHITECTURE.md's dependency table allows, by crate.
fn allowed_dependencies() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let map = architecture();
    let table = map
        .split("### Which crate may depend on which")
        .nth(1)
        .expect("ARCHITECTURE.md has the table of allowed dependencies");
    let mut rows = std::collections::BTreeMap::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(name) = cells.get(1).and_then(|c| c.strip_prefix('`')) else {
            continue;
        };
        let name = name.trim_end_matches('`').to_owned();
        let allowed: BTreeSet<String> = if cells[2].starts_with("every crate above") {
            rows.keys().cloned().collect::<BTreeSet<String>>()
        } else {
            BTreeSet::new()
        }
        .into_iter()
        .filter(|crate_name: &String| crate_name != "bistro-bench")
        .chain(
            code_spans(cells[2])
                .into_iter()
                .filter(|s| s.starts_with("bistro-"))
                .map(str::to_owned),
        )
        .collect();
        rows.insert(name, allowed);
    }
    rows
}

/// The `bistro-*` crates named under `[dependencies]` of a manifest.
fn internal_dependencies(manifest: &str) -> BTreeSet<String> {
    manifest
        .split("\n[")
        .filter(|section| section.starts_with("dependencies]"))
        .flat_map(|section| section.lines().skip(1))
        .filter_map(|line| line.split(['.', ' ', '=']).next())
        .filter(|name| name.starts_with("bistro-"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_crate_depends_only_on_what_the_table_allows() {
    let rows = allowed_dependencies();
    let mut manifests: Vec<(String, PathBuf)> = crates()
        .into_iter()
        .map(|name| {
            let path = root().join("crates").join(&name).join("Cargo.toml");
            (name, path)
        })
        .collect();
    manifests.push(("bistro-tests".to_owned(), root().join("tests/Cargo.toml")));
    let mut wrong = Vec::new();
    for (name, path) in manifests {
        let Some(allowed) = rows.get(&name) else {
            wrong.push(format!("{name} has no row in the table"));
            continue;
        };
        let manifest = std::fs::read_to_string(path).unwrap();
        for dependency in internal_dependencies(&manifest) {
            if !allowed.contains(&dependency) {
                wrong.push(format!(
                    "{name} depends on {dependency}, which its row does not allow"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
